-- The daily report of the original PostgreSQL design (its ai_usage_daily view), with the same column
-- names, computed from the rollup.
CREATE VIEW IF NOT EXISTS ${database}.ai_usage_daily AS
SELECT
    day AS usage_date,
    user_id,
    org_id AS organization_id,
    request_type,
    sum(total_tokens) AS total_tokens,
    sum(input_tokens + cached_input_tokens + cache_write_tokens) AS total_input,
    sum(output_tokens + reasoning_tokens) AS total_output,
    sum(requests) AS request_count,
    sum(cost_usd) AS total_cost
FROM ${database}.usage_daily
GROUP BY usage_date, user_id, organization_id, request_type
