-- Safe retries (services::idempotency): a booking or a course sent with an `Idempotency-Key`
-- (the API's header, the booking pages' hidden field) reserves the key here in the booking's
-- own write transaction, so the unique (user, key) decides between two identical requests at
-- once. The answer is stored when the booking has committed; a retry within 24 hours gets it
-- again. The request's fingerprint and the answer may carry health answers or an address, so
-- both are sealed with the answers' cipher. The mail worker's housekeeping deletes rows older
-- than 24 hours.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- SHA-256 (hex) of the key the caller chose.
    key_hash TEXT NOT NULL,
    -- The sealed SHA-256 of the request (its route and its body).
    request_hash TEXT NOT NULL,
    -- Null while the first request runs (reserved, not answered yet).
    response_status INTEGER,
    -- The sealed answer's body (JSON, or the page's redirect).
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    CHECK (response_status IS NULL OR (response_status BETWEEN 100 AND 599)),
    UNIQUE (user_id, key_hash)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
