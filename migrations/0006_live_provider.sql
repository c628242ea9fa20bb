-- callrelay schema, version 0006: a merchant may name OpenAI GPT-Live (`openai-live`) as its
-- provider. The check is the one 0001 declared inline (Postgres names it merchants_provider_check).
-- Mirrored byte for byte in supabase/migrations/ like 0001.

alter table merchants drop constraint merchants_provider_check;
alter table merchants add constraint merchants_provider_check
  check (provider in ('openai', 'openai-live', 'xai', 'sim'));
