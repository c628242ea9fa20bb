-- callrelay schema, version 0001.
-- Single source of truth: the relay applies migrations/*.sql itself (PGlite, Postgres server); an
-- identical copy lives in supabase/migrations/ for the Supabase CLI (`supabase db push`).
-- Table names are unqualified on purpose: they land in the first schema of search_path.

-- Exclusion constraints over (merchant_id, time range) need GiST support for plain text equality.
-- Supabase keeps extensions in their own schema; elsewhere the default schema is fine.
do $$
begin
  if exists (select 1 from pg_namespace where nspname = 'extensions') then
    create extension if not exists btree_gist with schema extensions;
  else
    create extension if not exists btree_gist;
  end if;
end $$;

create table merchants (
  id                      text primary key check (id <> ''),
  business_name           text not null check (business_name <> ''),
  time_zone               text not null,
  provider                text check (provider in ('openai', 'xai', 'sim')),
  voice                   text,
  instructions            text not null default '',
  greeting                text not null,
  outbound_greeting       text not null,
  voicemail_template      text not null,
  greeting_interruptible  boolean not null default true,
  slot_minutes            integer not null default 30 check (slot_minutes between 5 and 480),
  -- ISO weekday "1".."7" -> ["HH:MM-HH:MM", ...] in the merchant's time zone.
  business_hours          jsonb not null default '{}'::jsonb check (jsonb_typeof(business_hours) = 'object'),
  tools                   text[] not null default '{}',
  google_calendar_id      text,
  -- Secrets: fine at rest here, never logged.
  google_refresh_token    text,
  google_access_token     text,
  google_token_expires_at timestamptz,
  created_at              timestamptz not null default now(),
  updated_at              timestamptz not null default now()
);

-- One row per dialled number, so a number can ring exactly one merchant.
create table merchant_numbers (
  number      text primary key check (number ~ '^\+[1-9][0-9]{6,14}$'),
  merchant_id text not null references merchants (id) on delete cascade
);
create index merchant_numbers_merchant_idx on merchant_numbers (merchant_id);

create table customers (
  id          uuid primary key default gen_random_uuid(),
  merchant_id text not null references merchants (id) on delete cascade,
  phone       text not null check (phone ~ '^\+[1-9][0-9]{6,14}$'),
  name        text,
  email       text,
  notes       text,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  unique (merchant_id, phone),
  -- Target of appointments' composite key: a booking can only name a customer of its own merchant.
  unique (merchant_id, id)
);

create table appointments (
  id                  uuid primary key default gen_random_uuid(),
  merchant_id         text not null references merchants (id) on delete cascade,
  customer_id         uuid not null,
  starts_at           timestamptz not null,
  ends_at             timestamptz not null,
  status              text not null default 'booked' check (status in ('booked', 'cancelled')),
  calendar_event_id   text,
  notes               text,
  created_by_call_sid text,
  created_at          timestamptz not null default now(),
  cancelled_at        timestamptz,
  check (ends_at > starts_at),
  foreign key (merchant_id, customer_id) references customers (merchant_id, id) on delete cascade,
  -- The database, not the application, decides who gets a contested slot: two booked appointments of
  -- one merchant can never overlap, however many calls try at once.
  constraint appointments_no_double_booking
    exclude using gist (merchant_id with =, tstzrange(starts_at, ends_at, '[)') with &&)
    where (status = 'booked')
);
create index appointments_customer_idx on appointments (customer_id, starts_at);

create table messages (
  id           uuid primary key default gen_random_uuid(),
  merchant_id  text not null references merchants (id) on delete cascade,
  caller_name  text,
  caller_phone text,
  body         text not null check (body <> ''),
  urgency      text not null default 'normal' check (urgency in ('low', 'normal', 'urgent')),
  call_sid     text,
  created_at   timestamptz not null default now()
);
create index messages_merchant_created_idx on messages (merchant_id, created_at desc);

-- One row per call. No foreign key to merchants: the call log outlives merchant edits, and a record
-- waiting in the relay's outbox must never become unstorable.
create table calls (
  call_sid        text primary key,
  stream_sid      text,
  merchant_id     text,
  caller_phone    text,
  called_number   text,
  direction       text not null check (direction in ('inbound', 'outbound')),
  answered_by     text,
  started_at      timestamptz not null,
  ended_at        timestamptz,
  duration_ms     integer check (duration_ms >= 0),
  end_reason      text,
  provider        text,
  model           text,
  usage           jsonb not null default '{}'::jsonb,
  stats           jsonb not null default '{}'::jsonb,
  -- Ordered [{role, text, atMs, interrupted?}]; transcript_text is the same, readable in psql.
  transcript      jsonb not null default '[]'::jsonb check (jsonb_typeof(transcript) = 'array'),
  transcript_text text not null default '',
  created_at      timestamptz not null default now()
);
create index calls_merchant_started_idx on calls (merchant_id, started_at desc);

-- A merchant with its numbers, as every adapter reads it.
create view merchant_profiles with (security_invoker = true) as
select m.*,
       coalesce((select array_agg(n.number order by n.number) from merchant_numbers n where n.merchant_id = m.id),
                '{}'::text[]) as phone_numbers
from merchants m;

-- Upsert a merchant and its numbers in one transaction (Supabase's REST API has no transactions, so
-- every adapter calls this). Keys absent from `m` keep their stored value for the calendar fields.
create function upsert_merchant(m jsonb) returns setof merchant_profiles
language plpgsql as $$
declare
  v_id      text := m ->> 'id';
  v_numbers text[] := array(select jsonb_array_elements_text(coalesce(m -> 'phone_numbers', '[]'::jsonb)));
  v_taken   record;
begin
  select n.number, n.merchant_id into v_taken
  from merchant_numbers n
  where n.number = any (v_numbers) and n.merchant_id <> v_id
  limit 1;
  if found then
    raise exception 'phone number % already belongs to merchant %', v_taken.number, v_taken.merchant_id
      using errcode = 'unique_violation';
  end if;

  insert into merchants as t (id, business_name, time_zone, provider, voice, instructions, greeting,
                              outbound_greeting, voicemail_template, greeting_interruptible, slot_minutes,
                              business_hours, tools)
  values (v_id, m ->> 'business_name', m ->> 'time_zone', m ->> 'provider', m ->> 'voice',
          coalesce(m ->> 'instructions', ''), m ->> 'greeting', m ->> 'outbound_greeting',
          m ->> 'voicemail_template', coalesce((m ->> 'greeting_interruptible')::boolean, true),
          coalesce((m ->> 'slot_minutes')::integer, 30), coalesce(m -> 'business_hours', '{}'::jsonb),
          array(select jsonb_array_elements_text(coalesce(m -> 'tools', '[]'::jsonb))))
  on conflict (id) do update set
    business_name = excluded.business_name, time_zone = excluded.time_zone, provider = excluded.provider,
    voice = excluded.voice, instructions = excluded.instructions, greeting = excluded.greeting,
    outbound_greeting = excluded.outbound_greeting, voicemail_template = excluded.voicemail_template,
    greeting_interruptible = excluded.greeting_interruptible, slot_minutes = excluded.slot_minutes,
    business_hours = excluded.business_hours, tools = excluded.tools, updated_at = now();

  update merchants t set
    google_calendar_id = case when m ? 'google_calendar_id' then m ->> 'google_calendar_id' else t.google_calendar_id end,
    google_refresh_token = case when m ? 'google_refresh_token' then m ->> 'google_refresh_token' else t.google_refresh_token end,
    google_access_token = case when m ? 'google_access_token' then m ->> 'google_access_token' else t.google_access_token end,
    google_token_expires_at = case when m ? 'google_token_expires_at' then (m ->> 'google_token_expires_at')::timestamptz
                                   else t.google_token_expires_at end
  where t.id = v_id;

  delete from merchant_numbers n where n.merchant_id = v_id and not (n.number = any (v_numbers));
  insert into merchant_numbers (number, merchant_id)
  select x, v_id from unnest(v_numbers) as x
  on conflict (number) do nothing;
  -- A concurrent upsert may have claimed a number between the check above and the insert.
  if exists (select 1 from merchant_numbers n where n.number = any (v_numbers) and n.merchant_id <> v_id) then
    raise exception 'a phone number of merchant % was claimed by another merchant', v_id using errcode = 'unique_violation';
  end if;

  return query select * from merchant_profiles p where p.id = v_id;
end $$;

-- The customer with this number, created on first contact; a known name is kept, a missing one filled.
create function find_or_create_customer(p_merchant_id text, p_phone text, p_name text default null)
returns setof customers
language sql as $$
  insert into customers as c (merchant_id, phone, name)
  values (p_merchant_id, p_phone, nullif(btrim(p_name), ''))
  on conflict (merchant_id, phone) do update
    set name = coalesce(c.name, excluded.name),
        updated_at = case when c.name is null and excluded.name is not null then now() else c.updated_at end
  returning *;
$$;

-- Book a slot, or return no row when an overlapping booking already holds it. The exclusion
-- constraint arbitrates between concurrent callers; this only turns its verdict into "no row".
create function book_appointment(p_merchant_id text, p_customer_id uuid, p_starts_at timestamptz,
                                 p_ends_at timestamptz, p_notes text default null, p_call_sid text default null)
returns setof appointments
language plpgsql as $$
begin
  return query
    insert into appointments (merchant_id, customer_id, starts_at, ends_at, notes, created_by_call_sid)
    values (p_merchant_id, p_customer_id, p_starts_at, p_ends_at, p_notes, p_call_sid)
    returning *;
exception
  when exclusion_violation or unique_violation then
    return;
end $$;

-- Only the relay calls these functions (Supabase: with the service role).
revoke execute on function upsert_merchant(jsonb) from public;
revoke execute on function find_or_create_customer(text, text, text) from public;
revoke execute on function book_appointment(text, uuid, timestamptz, timestamptz, text, text) from public;

-- On Supabase the anon and authenticated roles reach every table and function through the REST API.
-- The relay uses the service role, which bypasses row-level security, so RLS with no policies plus
-- revoked functions keeps everyone else out. Plain Postgres and PGlite have no such roles and no
-- REST exposure, and RLS there could lock out an application role that does not own the tables.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    alter table merchants enable row level security;
    alter table merchant_numbers enable row level security;
    alter table customers enable row level security;
    alter table appointments enable row level security;
    alter table messages enable row level security;
    alter table calls enable row level security;
    -- Present when the relay itself migrated this database (DATABASE_URL), absent under the Supabase CLI.
    if to_regclass('schema_migrations') is not null then
      alter table schema_migrations enable row level security;
    end if;
    revoke execute on function upsert_merchant(jsonb) from anon, authenticated;
    revoke execute on function find_or_create_customer(text, text, text) from anon, authenticated;
    revoke execute on function book_appointment(text, uuid, timestamptz, timestamptz, text, text) from anon, authenticated;
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function upsert_merchant(jsonb) to service_role;
    grant execute on function find_or_create_customer(text, text, text) to service_role;
    grant execute on function book_appointment(text, uuid, timestamptz, timestamptz, text, text) to service_role;
  end if;
end $$;
