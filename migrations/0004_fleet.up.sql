-- Fleet: a tenant's sites, which site each edge serves, and the registry of
-- chargers (what an installer registered, or accepted/rejected from what an
-- edge reported), with their connectors (cloud/fleet). Ids sort bytewise
-- (COLLATE "C") like in 0001.

CREATE TABLE sites (
    tenant_id  text             COLLATE "C" NOT NULL REFERENCES tenants (tenant_id),
    site_id    text             COLLATE "C" NOT NULL CHECK (site_id <> ''),
    name       text             NOT NULL,
    address    text             NOT NULL DEFAULT '',
    -- WGS84 degrees; both or neither.
    latitude   double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude  double precision CHECK (longitude BETWEEN -180 AND 180),
    -- IANA name, checked by cloud/fleet with time.LoadLocation.
    timezone   text             NOT NULL CHECK (timezone <> ''),
    created_at timestamptz      NOT NULL,
    updated_at timestamptz      NOT NULL,
    PRIMARY KEY (tenant_id, site_id),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

-- Registry rows reference (tenant_id, edge_id), which makes the edge's
-- tenant part of the key: a charger can only be registered on an edge of its
-- own tenant.
ALTER TABLE edges ADD CONSTRAINT edges_tenant_edge_key UNIQUE (tenant_id, edge_id);

-- An edge serves at most one site, of its own tenant (the composite key).
-- NULL: attached to none.
ALTER TABLE edges ADD COLUMN site_id text COLLATE "C";
ALTER TABLE edges ADD CONSTRAINT edges_site_fkey
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, site_id);

-- GetSite's edge list and DeleteSite's "anything attached?".
CREATE INDEX edges_site_idx ON edges (tenant_id, site_id, edge_id) WHERE site_id IS NOT NULL;

-- Chargers a tenant registered (accepted) or rejected. A charger the edges
-- reported (chargers, 0001) with no row here is pending. site_id is always
-- the edge's site (cloud/fleet keeps it so, AttachEdge moves the rows).
CREATE TABLE charger_registry (
    tenant_id      text        COLLATE "C" NOT NULL,
    edge_id        text        COLLATE "C" NOT NULL,
    charger_id     text        COLLATE "C" NOT NULL CHECK (charger_id <> ''),
    site_id        text        COLLATE "C",
    state          text        NOT NULL CHECK (state IN ('accepted', 'rejected')),
    protocol       text        NOT NULL,
    model          text        NOT NULL DEFAULT '',
    vendor         text        NOT NULL DEFAULT '',
    firmware       text        NOT NULL DEFAULT '',
    -- Vendor ids, lowercase hex where hex; '' or empty when not set.
    bkv_gateway_id  text       NOT NULL DEFAULT '',
    bkv_socket_macs text[]     NOT NULL DEFAULT '{}',
    ykc_pile_code   text       NOT NULL DEFAULT '',
    ocpp_identity   text       NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (edge_id, charger_id),
    -- '' only for a charger rejected from pending whose reported protocol
    -- the registry does not know.
    CHECK (protocol IN ('bkv', 'ap3000', 'ykc', 'ocpp16') OR (protocol = '' AND state = 'rejected')),
    FOREIGN KEY (tenant_id, edge_id) REFERENCES edges (tenant_id, edge_id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES sites (tenant_id, site_id)
);

-- ListRegisteredChargers pages in (edge_id, charger_id) order by keyset, per
-- tenant and optionally per site; the pending listing probes the primary key.
CREATE INDEX charger_registry_tenant_idx ON charger_registry (tenant_id, edge_id, charger_id);
CREATE INDEX charger_registry_site_idx ON charger_registry (tenant_id, site_id, edge_id, charger_id);

CREATE TABLE charger_connectors (
    edge_id     text    COLLATE "C" NOT NULL,
    charger_id  text    COLLATE "C" NOT NULL,
    number      integer NOT NULL CHECK (number >= 1),
    kind        text    NOT NULL CHECK (kind IN ('ac', 'dc', 'socket')),
    -- 0: unknown.
    max_power_w bigint  NOT NULL DEFAULT 0 CHECK (max_power_w >= 0),
    label       text    NOT NULL DEFAULT '',
    PRIMARY KEY (edge_id, charger_id, number),
    FOREIGN KEY (edge_id, charger_id) REFERENCES charger_registry (edge_id, charger_id) ON DELETE CASCADE
);
