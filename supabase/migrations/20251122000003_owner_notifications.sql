-- callrelay schema, version 0003: what a merchant needs to put callers through to a person, tell the
-- owner by SMS, report each call to a webhook and record calls; and the calls' recordings.
-- Mirrored byte for byte in supabase/migrations/ like 0001.

-- Transfer targets: [{name, number, handles, hours: {"1".."7": ["HH:MM-HH:MM", ...]}}], checked by the
-- merchant file's schema (src/store/merchant-schema.ts) before they get here.
alter table merchants
  add column transfer_targets jsonb not null default '[]'::jsonb check (jsonb_typeof(transfer_targets) = 'array'),
  add column owner_sms_number text check (owner_sms_number ~ '^\+[1-9][0-9]{6,14}$'),
  add column owner_sms_show_caller boolean not null default false,
  add column webhook_url text check (webhook_url ~ '^https://'),
  -- Secret: fine at rest here, never logged.
  add column webhook_secret text check (webhook_secret <> ''),
  add column recording_notice text check (recording_notice <> ''),
  add constraint merchants_webhook_whole check ((webhook_url is null) = (webhook_secret is null));

-- The view lists merchants' columns as they were when it was made: made again to carry the new ones,
-- and with it the function that returns its rows.
drop function upsert_merchant(jsonb);
drop view merchant_profiles;

create view merchant_profiles with (security_invoker = true) as
select m.*,
       coalesce((select array_agg(n.number order by n.number) from merchant_numbers n where n.merchant_id = m.id),
                '{}'::text[]) as phone_numbers
from merchants m;

-- As in 0001, plus the new columns (written from `m` like the other profile fields: absent clears).
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
                              business_hours, tools, transfer_targets, owner_sms_number, owner_sms_show_caller,
                              webhook_url, webhook_secret, recording_notice)
  values (v_id, m ->> 'business_name', m ->> 'time_zone', m ->> 'provider', m ->> 'voice',
          coalesce(m ->> 'instructions', ''), m ->> 'greeting', m ->> 'outbound_greeting',
          m ->> 'voicemail_template', coalesce((m ->> 'greeting_interruptible')::boolean, true),
          coalesce((m ->> 'slot_minutes')::integer, 30), coalesce(m -> 'business_hours', '{}'::jsonb),
          array(select jsonb_array_elements_text(coalesce(m -> 'tools', '[]'::jsonb))),
          coalesce(m -> 'transfer_targets', '[]'::jsonb), m ->> 'owner_sms_number',
          coalesce((m ->> 'owner_sms_show_caller')::boolean, false), m ->> 'webhook_url', m ->> 'webhook_secret',
          m ->> 'recording_notice')
  on conflict (id) do update set
    business_name = excluded.business_name, time_zone = excluded.time_zone, provider = excluded.provider,
    voice = excluded.voice, instructions = excluded.instructions, greeting = excluded.greeting,
    outbound_greeting = excluded.outbound_greeting, voicemail_template = excluded.voicemail_template,
    greeting_interruptible = excluded.greeting_interruptible, slot_minutes = excluded.slot_minutes,
    business_hours = excluded.business_hours, tools = excluded.tools,
    transfer_targets = excluded.transfer_targets, owner_sms_number = excluded.owner_sms_number,
    owner_sms_show_caller = excluded.owner_sms_show_caller, webhook_url = excluded.webhook_url,
    webhook_secret = excluded.webhook_secret, recording_notice = excluded.recording_notice, updated_at = now();

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

-- A call's recording as Twilio's recording status callbacks report it. No foreign key to calls: the
-- first callback arrives while the call is live, before its row is written.
create table call_recordings (
  recording_sid    text primary key check (recording_sid ~ '^RE[0-9a-fA-F]{32}$'),
  call_sid         text not null,
  status           text not null check (status in ('in-progress', 'paused', 'stopped', 'processing', 'completed',
                                                   'absent', 'failed', 'deleted')),
  channels         integer check (channels in (1, 2)),
  duration_seconds integer check (duration_seconds >= 0),
  url              text,
  error_code       integer,
  started_at       timestamptz,
  updated_at       timestamptz not null default now()
);
create index call_recordings_call_idx on call_recordings (call_sid);

-- Insert or move a recording forward. Twilio's callbacks can arrive out of order (and are retried), so
-- a status never goes back: a late `in-progress` after `completed` changes nothing.
create function save_call_recording(r jsonb) returns setof call_recordings
language plpgsql as $$
declare
  v_rank constant jsonb := '{"in-progress": 1, "paused": 2, "stopped": 3, "processing": 4, "completed": 5,
                             "absent": 5, "failed": 5, "deleted": 6}';
begin
  insert into call_recordings as t (recording_sid, call_sid, status, channels, duration_seconds, url, error_code,
                                    started_at)
  values (r ->> 'recording_sid', r ->> 'call_sid', r ->> 'status', (r ->> 'channels')::integer,
          (r ->> 'duration_seconds')::integer, r ->> 'url', (r ->> 'error_code')::integer,
          (r ->> 'started_at')::timestamptz)
  on conflict (recording_sid) do update set
    status = excluded.status,
    channels = coalesce(excluded.channels, t.channels),
    duration_seconds = coalesce(excluded.duration_seconds, t.duration_seconds),
    url = coalesce(excluded.url, t.url),
    error_code = coalesce(excluded.error_code, t.error_code),
    started_at = coalesce(t.started_at, excluded.started_at),
    updated_at = now()
  where (v_rank ->> excluded.status)::integer >= (v_rank ->> t.status)::integer;
  return query select * from call_recordings c where c.recording_sid = r ->> 'recording_sid';
end $$;

revoke execute on function upsert_merchant(jsonb) from public;
revoke execute on function save_call_recording(jsonb) from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    alter table call_recordings enable row level security;
    revoke execute on function upsert_merchant(jsonb) from anon, authenticated;
    revoke execute on function save_call_recording(jsonb) from anon, authenticated;
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function upsert_merchant(jsonb) to service_role;
    grant execute on function save_call_recording(jsonb) to service_role;
  end if;
end $$;
