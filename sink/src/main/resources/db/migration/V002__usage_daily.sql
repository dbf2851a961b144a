-- Cost and tokens per day by org, user, provider, model, request type and endpoint, kept current by a
-- materialized view on every insert into usage_costs. SummingMergeTree adds rows up when parts merge,
-- which happens eventually: always query it with sum() and GROUP BY.
CREATE TABLE IF NOT EXISTS ${database}.usage_daily (
    day Date,
    org_id String,
    user_id String,
    provider String,
    model String,
    request_type String,
    endpoint String,
    requests UInt64,
    input_tokens UInt64,
    cached_input_tokens UInt64,
    cache_write_tokens UInt64,
    output_tokens UInt64,
    reasoning_tokens UInt64,
    total_tokens UInt64,
    cost_usd Decimal(38, 12)
) ENGINE = SummingMergeTree() PARTITION BY toYYYYMM(day) ORDER BY (org_id, day, provider, model, user_id, request_type, endpoint);

CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.usage_daily_mv TO ${database}.usage_daily AS
SELECT
    toDate(event_time) AS day,
    org_id,
    user_id,
    provider,
    model,
    request_type,
    endpoint,
    count() AS requests,
    sum(input_tokens) AS input_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(cache_write_5m_tokens + cache_write_1h_tokens) AS cache_write_tokens,
    sum(output_tokens) AS output_tokens,
    sum(reasoning_tokens) AS reasoning_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd
FROM ${database}.usage_costs
GROUP BY day, org_id, user_id, provider, model, request_type, endpoint
