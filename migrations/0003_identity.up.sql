-- Identity: tenants, users (login with email + password), one-time tokens
-- (email verification, password reset and invitation), and API keys. Ids
-- sort bytewise (COLLATE "C") like in 0001. Secrets are never stored: only
-- argon2id hashes of passwords and sha256 hashes of tokens and keys.

-- A tenant id is an MQTT topic level (cp/v1/<tenant>/…): non-empty, without
-- '/', '+', '#' or NUL (shared/topic.ValidSegment; NUL cannot be in text).
CREATE TABLE tenants (
    tenant_id  text        COLLATE "C" PRIMARY KEY
               CHECK (tenant_id <> '' AND length(tenant_id) <= 128 AND tenant_id !~ '[/+#]'),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Every tenant the cloud already holds data of becomes a row named after its id.
INSERT INTO tenants (tenant_id, name)
SELECT tenant_id, tenant_id FROM (
    SELECT tenant_id FROM edges
    UNION SELECT tenant_id FROM cards
    UNION SELECT tenant_id FROM sessions
    UNION SELECT tenant_id FROM events
    UNION SELECT tenant_id FROM chargers
) known
WHERE tenant_id <> '' AND tenant_id !~ '[/+#]' AND length(tenant_id) <= 128
ON CONFLICT DO NOTHING;

CREATE TABLE users (
    user_id           text        COLLATE "C" PRIMARY KEY,
    -- NULL only for platform admins, who belong to no tenant.
    tenant_id         text        COLLATE "C" REFERENCES tenants (tenant_id),
    -- Stored lowercase; unique across the platform (login names no tenant).
    email             text        NOT NULL UNIQUE CHECK (email <> '' AND email = lower(email)),
    display_name      text        NOT NULL DEFAULT '',
    role              text        NOT NULL CHECK (role IN
                      ('platform_admin', 'tenant_admin', 'operator', 'installer', 'viewer', 'driver')),
    -- argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash); '' while an
    -- invited user has not set a password yet (no password matches '').
    password_hash     text        NOT NULL DEFAULT '',
    email_verified_at timestamptz,
    disabled_at       timestamptz,
    -- Failed logins since the last success or lock; the lock starts at
    -- auth.lockout_after of them and lasts auth.lockout_for.
    failed_logins     integer     NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until      timestamptz,
    created_at        timestamptz NOT NULL,
    CHECK ((tenant_id IS NULL) = (role = 'platform_admin'))
);

-- ListUsers pages a tenant's users in user_id order.
CREATE INDEX users_tenant_idx ON users (tenant_id, user_id);

-- One-time tokens mailed to a user: verify_email (registration) and
-- reset_password (forgotten password and invitations). Only sha256 of the
-- token is kept; a token works once, before expires_at.
CREATE TABLE user_tokens (
    token_hash bytea       PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id    text        COLLATE "C" NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    purpose    text        NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL
);

-- A password change or reset voids the user's other open reset tokens.
CREATE INDEX user_tokens_user_idx ON user_tokens (user_id, purpose) WHERE used_at IS NULL;

-- API keys: "cpk_<key_id>_<secret>", shown once; hash = sha256 of the whole
-- key. A key acts with its own role in its one tenant, never above the role
-- of whoever created it; there are no platform-wide keys.
CREATE TABLE api_keys (
    key_id       text        COLLATE "C" PRIMARY KEY,
    tenant_id    text        COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    role         text        NOT NULL CHECK (role IN
                 ('tenant_admin', 'operator', 'installer', 'viewer', 'driver')),
    name         text        NOT NULL DEFAULT '',
    hash         bytea       NOT NULL CHECK (length(hash) = 32),
    created_by   text        COLLATE "C" NOT NULL REFERENCES users (user_id),
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz,
    revoked_at   timestamptz
);

-- ListAPIKeys pages a tenant's keys in key_id order; disabling a user
-- finds the keys they created.
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, key_id);
CREATE INDEX api_keys_created_by_idx ON api_keys (created_by);

-- A driver's ListSessions is forced to their own user_id.
CREATE INDEX sessions_tenant_user_idx ON sessions (tenant_id, user_id, started_at DESC, edge_id DESC, seq DESC);
