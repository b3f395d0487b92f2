-- Outputs (docs/integrations.md): MQTT, notifications and webhooks.
--
-- output_outbox is what each configured output still has to deliver. The analysis worker
-- writes its rows in the same transaction as the events they announce, so an event is
-- never committed without its deliveries, nor a delivery without its event; one process
-- at a time (the holder of an advisory lock) delivers them after the commit, in order per
-- output, and deletes a row once its output took it (or dropped it, saying so).
CREATE TABLE output_outbox (
    delivery_id     bigserial PRIMARY KEY,
    output          text NOT NULL CHECK (output ~ '^[a-z][a-z0-9-]{0,62}$'),
    event_id        uuid NOT NULL REFERENCES events (event_id) ON DELETE CASCADE,
    kind            text NOT NULL
                    CONSTRAINT output_outbox_kind_check CHECK (kind IN ('new', 'end')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text
);
CREATE INDEX output_outbox_output ON output_outbox (output, delivery_id);

-- Each output's state as its deliverer last saw it, for the devices page and /healthz in
-- any process: connected, the last delivery, the last error, what was dropped.
CREATE TABLE output_status (
    output            text PRIMARY KEY CHECK (output ~ '^[a-z][a-z0-9-]{0,62}$'),
    connected         boolean,
    connected_changed_at timestamptz,
    last_delivered_at timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    delivered         bigint NOT NULL DEFAULT 0,
    failed            bigint NOT NULL DEFAULT 0,
    dropped           bigint NOT NULL DEFAULT 0,
    last_dropped_at   timestamptz,
    last_dropped      text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
