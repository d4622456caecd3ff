-- fraud_flags: the anti-fraud rules' verdicts (features/fraud), one row per
-- (subject, rule) for analysts and merchants. A subject is an account, a
-- device, an IP or a room; rule is R1–R6 (see features/fraud/thresholds.go
-- for each threshold and why). Exact under re-flagging: a subject may be
-- flagged again by the same rule (a restart forgets what was flagged), which
-- inserts another row with the same sorting key; background merges keep the
-- latest, and readers never depend on them: read with GROUP BY subject_kind,
-- subject_id, rule (argMax(reason, flagged_at) for the latest reason), or as
-- a set with IN, which counts each subject once however many rows it has.
--
-- Exclude flagged accounts and devices from anything over events with
-- fraudch.ExcludePredicate(db), which is
--   user_id NOT IN (SELECT subject_id FROM db.fraud_flags WHERE subject_kind = 'user')
--   AND device_id NOT IN (SELECT subject_id FROM db.fraud_flags WHERE subject_kind = 'device')
CREATE TABLE IF NOT EXISTS {db}.fraud_flags
(
    subject_kind  Enum8('user' = 1, 'device' = 2, 'ip' = 3, 'room' = 4),
    subject_id    String,
    rule          Enum8('r1_device_accounts' = 1, 'r2_ip_room_orders' = 2, 'r3_fresh_fast_buy' = 3,
                        'r4_order_refund' = 4, 'r5_lockstep' = 5, 'r6_view_bot' = 6),
    reason        String,
    measure       Int64,
    room_id       String,
    flagged_at    Int64,
    flagged_time  DateTime('UTC') DEFAULT toDateTime(intDiv(flagged_at, 1000), 'UTC'),
    date          Date DEFAULT toDate(toDateTime(intDiv(flagged_at, 1000), 'UTC'))
)
ENGINE = ReplacingMergeTree(flagged_at)
ORDER BY (subject_kind, subject_id, rule);
