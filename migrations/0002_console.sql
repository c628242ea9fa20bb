-- callrelay schema, version 0002: what the console reads and writes.
-- Mirrored byte for byte in supabase/migrations/ like 0001.

-- The call page: the timeline picture (states as bands, barge-ins, tools, heard answers, the end)
-- and each tool call with its arguments and output. Old rows get empty lists.
alter table calls add column timeline jsonb not null default '[]'::jsonb check (jsonb_typeof(timeline) = 'array');
alter table calls add column tool_calls jsonb not null default '[]'::jsonb check (jsonb_typeof(tool_calls) = 'array');
-- The operator's call list, newest first across merchants.
create index calls_started_idx on calls (started_at desc);

-- The owner marks a message read; unread ones are listed first.
alter table messages add column read_at timestamptz;

-- Sign-in links of merchant owners (npm run merchant -- --link ID). Only a SHA-256 of the secret is
-- kept, so a copy of the database cannot sign anyone in.
create table console_links (
  id          uuid primary key default gen_random_uuid(),
  merchant_id text not null references merchants (id) on delete cascade,
  token_hash  text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  revoked_at  timestamptz
);
create index console_links_merchant_idx on console_links (merchant_id);

-- Appointments with the customer who holds them, as the console lists them.
create view appointment_details with (security_invoker = true) as
select a.*, c.name as customer_name, c.phone as customer_phone
from appointments a
join customers c on c.merchant_id = a.merchant_id and c.id = a.customer_id;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    alter table console_links enable row level security;
  end if;
end $$;
