-- callrelay schema, version 0005: messages taken in the same clock tick keep the order they were
-- taken in. created_at alone ties when two land within the clock's resolution (PGlite's is coarse),
-- and the inbox then showed them in any order. Mirrored byte for byte in supabase/migrations/ like 0001.

alter table messages add column seq bigint generated always as identity;
drop index messages_merchant_created_idx;
create index messages_merchant_created_idx on messages (merchant_id, created_at desc, seq desc);
