-- callrelay schema, version 0006: how a merchant's calls reach the model, `media-streams` (through the
-- relay, the default) or `sip` (a SIP trunk straight to OpenAI, the relay controlling the call from the
-- side); and the provider check widened to the third provider, `openai-live`. Mirrored byte for byte in
-- supabase/migrations/ like 0001.

alter table merchants
  add column transport text not null default 'media-streams' check (transport in ('media-streams', 'sip'));

-- 0001 left the provider check unnamed, so Postgres named it merchants_provider_check.
alter table merchants drop constraint merchants_provider_check;
alter table merchants
  add constraint merchants_provider_check check (provider in ('openai', 'openai-live', 'xai', 'sim'));

-- The view lists merchants' columns as they were when it was made: made again to carry the new one,
-- and with it the function that returns its rows.
drop function upsert_merchant(jsonb);
drop view merchant_profiles;

create view merchant_profiles with (security_invoker = true) as
select m.*,
       coalesce((select array_agg(n.number order by n.number) from merchant_numbers n where n.merchant_id = m.id),
                '{}'::text[]) as phone_numbers
from merchants m;

-- As in 0004, plus transport (absent or null: media-streams, so a caller that predates it keeps the default).
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
                              webhook_url, webhook_secret, recording_notice, realtime_options, transport)
  values (v_id, m ->> 'business_name', m ->> 'time_zone', m ->> 'provider', m ->> 'voice',
          coalesce(m ->> 'instructions', ''), m ->> 'greeting', m ->> 'outbound_greeting',
          m ->> 'voicemail_template', coalesce((m ->> 'greeting_interruptible')::boolean, true),
          coalesce((m ->> 'slot_minutes')::integer, 30), coalesce(m -> 'business_hours', '{}'::jsonb),
          array(select jsonb_array_elements_text(coalesce(m -> 'tools', '[]'::jsonb))),
          coalesce(m -> 'transfer_targets', '[]'::jsonb), m ->> 'owner_sms_number',
          coalesce((m ->> 'owner_sms_show_caller')::boolean, false), m ->> 'webhook_url', m ->> 'webhook_secret',
          m ->> 'recording_notice', nullif(m -> 'realtime_options', 'null'::jsonb),
          coalesce(m ->> 'transport', 'media-streams'))
  on conflict (id) do update set
    business_name = excluded.business_name, time_zone = excluded.time_zone, provider = excluded.provider,
    voice = excluded.voice, instructions = excluded.instructions, greeting = excluded.greeting,
    outbound_greeting = excluded.outbound_greeting, voicemail_template = excluded.voicemail_template,
    greeting_interruptible = excluded.greeting_interruptible, slot_minutes = excluded.slot_minutes,
    business_hours = excluded.business_hours, tools = excluded.tools,
    transfer_targets = excluded.transfer_targets, owner_sms_number = excluded.owner_sms_number,
    owner_sms_show_caller = excluded.owner_sms_show_caller, webhook_url = excluded.webhook_url,
    webhook_secret = excluded.webhook_secret, recording_notice = excluded.recording_notice,
    realtime_options = excluded.realtime_options, transport = excluded.transport, updated_at = now();

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

revoke execute on function upsert_merchant(jsonb) from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke execute on function upsert_merchant(jsonb) from anon, authenticated;
  end if;
  if exists (select 1 from pg_roles where rolname = 'service_role') then
    grant execute on function upsert_merchant(jsonb) to service_role;
  end if;
end $$;
