-- Valid events that had no price in force: never costed as zero, kept here with the reason.
CREATE TABLE IF NOT EXISTS ${database}.usage_unpriced (
    event_id String,
    event_time DateTime('UTC'),
    org_id String,
    user_id String,
    provider String,
    model String,
    pricing_key String,
    request_type String,
    endpoint String,
    service String,
    input_tokens UInt64,
    cached_input_tokens UInt64,
    cache_write_tokens UInt64,
    output_tokens UInt64,
    reasoning_tokens UInt64,
    reason String,
    detected_at DateTime('UTC'),
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(event_time) ORDER BY (org_id, event_time, event_id);

-- One row per quota alert (breach_id is policy/window/threshold: unique).
CREATE TABLE IF NOT EXISTS ${database}.quota_breaches (
    breach_id String,
    policy_id String,
    org_id String,
    scope String,
    scope_value String,
    quota_window String,
    window_start DateTime('UTC'),
    window_end DateTime('UTC'),
    threshold_percent UInt16,
    limit_usd Decimal(38, 12),
    spend_usd Decimal(38, 12),
    enforcement String,
    event_id String,
    detected_at DateTime('UTC'),
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64
) ENGINE = MergeTree() PARTITION BY toYYYYMM(window_start) ORDER BY (org_id, window_start, policy_id, threshold_percent);

-- Records the sink could not read (not the processor's dead letters: those are in usage.dlq).
CREATE TABLE IF NOT EXISTS ${database}.sink_dead_letters (
    kafka_topic String,
    kafka_partition UInt32,
    kafka_offset UInt64,
    error String,
    value_base64 String,
    failed_at DateTime('UTC')
) ENGINE = MergeTree() PARTITION BY toYYYYMM(failed_at) ORDER BY (kafka_topic, kafka_partition, kafka_offset)
