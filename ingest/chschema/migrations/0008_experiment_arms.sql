-- experiment_arms: per experiment, Asia/Shanghai day and viewer (user_id, or
-- 'd:'+device_id when anonymous), the arm their events of that day carry
-- (exposures and stamped events). The A/B report (chreport.Experiment) reads
-- a viewer's arm here instead of scanning every event's experiments column.
--
-- day is the Shanghai day number intDiv(ts + 8h, 24h) of the event's client
-- time, the same for every copy of an event. arm is an any() state: any
-- number of copies of an event (a crash, a redelivery, a client retry) leave
-- it as it was, without FINAL and without waiting for a merge. Read it with
-- anyMerge(arm) GROUP BY u over the days of the report.
--
-- backfill: idempotent. As above, a row inserted while the migration runs may
-- reach the table twice, and it does not matter.
CREATE TABLE IF NOT EXISTS {db}.experiment_arms
(
    experiment String,
    day        UInt32,
    u          String,
    arm        AggregateFunction(any, String)
)
ENGINE = AggregatingMergeTree()
ORDER BY (experiment, day, u);

CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.experiment_arms_mv TO {db}.experiment_arms
AS SELECT experiments.name AS experiment, toUInt32(intDiv(ts + 28800000, 86400000)) AS day,
    if(user_id != '', user_id, concat('d:', device_id)) AS u, anyState(experiments.arm) AS arm
FROM {db}.events
ARRAY JOIN experiments
GROUP BY experiment, day, u;

INSERT INTO {db}.experiment_arms (experiment, day, u, arm)
SELECT experiments.name AS experiment, toUInt32(intDiv(ts + 28800000, 86400000)) AS day,
    if(user_id != '', user_id, concat('d:', device_id)) AS u, anyState(experiments.arm) AS arm
FROM {db}.events
ARRAY JOIN experiments
GROUP BY experiment, day, u;
