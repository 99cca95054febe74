DROP TABLE IF EXISTS charger_connectors;
DROP TABLE IF EXISTS charger_registry;
DROP INDEX IF EXISTS edges_site_idx;
ALTER TABLE edges DROP CONSTRAINT IF EXISTS edges_site_fkey;
ALTER TABLE edges DROP COLUMN IF EXISTS site_id;
ALTER TABLE edges DROP CONSTRAINT IF EXISTS edges_tenant_edge_key;
DROP TABLE IF EXISTS sites;
