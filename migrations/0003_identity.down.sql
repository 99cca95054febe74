DROP INDEX IF EXISTS sessions_tenant_user_idx;
DROP TABLE IF EXISTS api_keys;
DROP TABLE IF EXISTS user_tokens;
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS tenants;
