-- R7 (serving/commerce's risk gate): WeChat's getUserRiskRank ranked a buyer at or above
-- the gate's threshold at a flash-sale or coupon order, which was refused. measure is the
-- rank, reason says the threshold and the order. Appending an Enum8 value is a
-- metadata-only change.
ALTER TABLE {db}.fraud_flags MODIFY COLUMN rule Enum8('r1_device_accounts' = 1, 'r2_ip_room_orders' = 2,
    'r3_fresh_fast_buy' = 3, 'r4_order_refund' = 4, 'r5_lockstep' = 5, 'r6_view_bot' = 6,
    'r7_wechat_risk_rank' = 7);
