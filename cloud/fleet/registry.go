package fleet

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Registration states, as stored in charger_registry.state. A charger an
// edge reported that has no registry row is pending (StatePending is never
// stored).
const (
	StatePending  = "pending"
	StateAccepted = "accepted"
	StateRejected = "rejected"
)

// Protocols a registered charger may speak (charger_registry.protocol), as
// the edge's adapters name them.
const (
	ProtocolBKV    = "bkv"
	ProtocolAP3000 = "ap3000"
	ProtocolYKC    = "ykc"
	ProtocolOCPP16 = "ocpp16"
)

// Protocols lists the protocols the registry knows.
func Protocols() []string {
	return []string{ProtocolBKV, ProtocolAP3000, ProtocolYKC, ProtocolOCPP16}
}

// Connector kinds (charger_connectors.kind).
const (
	KindAC     = "ac"
	KindDC     = "dc"
	KindSocket = "socket"
)

// ConnectorKinds lists the connector kinds.
func ConnectorKinds() []string { return []string{KindAC, KindDC, KindSocket} }

// Limits of what a registration may hold.
const (
	// MaxTextLen bounds model, vendor, firmware and connector labels.
	MaxTextLen = 100
	// MaxConnectors bounds the connectors of one charger.
	MaxConnectors = 64
	// MaxSocketMACs bounds the sockets of one BKV gateway.
	MaxSocketMACs = 256
	// MaxOCPPIdentityLen bounds an OCPP identity (OCPP 1.6J: the identity is
	// a CiString of up to 48 characters in most deployments; allow more).
	MaxOCPPIdentityLen = 128
)

// Registration is what an installer registers for a charger.
type Registration struct {
	EdgeID    string
	ChargerID string
	// SiteID is the edge's site ("" when the edge has none). On register, ""
	// means "the edge's site"; anything else must be it.
	SiteID     string
	Protocol   string
	Model      string
	Vendor     string
	Firmware   string
	VendorIDs  VendorIDs
	Connectors []Connector
}

// VendorIDs are the ids a charger's protocol addresses it by. Hex ids are
// stored lowercase.
type VendorIDs struct {
	// BKVGatewayID is 14 hex digits.
	BKVGatewayID string
	// BKVSocketMACs are 12 hex digits each.
	BKVSocketMACs []string
	// YKCPileCode is 14 decimal digits.
	YKCPileCode string
	// OCPPIdentity is the charge point identity, the last path segment of
	// its URL.
	OCPPIdentity string
}

// Connector is one outlet of a registered charger.
type Connector struct {
	// Number is 1 or more, unique within the charger.
	Number uint32
	Kind   string
	// MaxPowerW is 0 when unknown.
	MaxPowerW uint32
	Label     string
}

// Registered is a charger of the registry, or a pending one, with what its
// edge reported.
type Registered struct {
	TenantID     string
	State        string
	Registration Registration
	// Zero for a pending charger.
	CreatedAt time.Time
	UpdatedAt time.Time
	// Reported is nil when the edge never reported the charger.
	Reported *Reported
}

// Reported is what an edge reported about a charger (the chargers table).
type Reported struct {
	Protocol  string
	Firmware  string
	FirstSeen time.Time
	LastSeen  time.Time
}

// RegistryFilter restricts ListRegistered; empty fields match everything.
// TenantID is required.
type RegistryFilter struct {
	TenantID string
	SiteID   string
	EdgeID   string
	// State is StateAccepted, StateRejected or "".
	State    string
	Protocol string
}

// Normalize returns r with hex vendor ids lowercased and connectors in
// number order, the form the registry stores and compares.
func (r Registration) Normalize() Registration {
	r.VendorIDs.BKVGatewayID = strings.ToLower(r.VendorIDs.BKVGatewayID)
	if r.VendorIDs.BKVSocketMACs != nil {
		macs := make([]string, len(r.VendorIDs.BKVSocketMACs))
		for i, m := range r.VendorIDs.BKVSocketMACs {
			macs[i] = strings.ToLower(m)
		}
		r.VendorIDs.BKVSocketMACs = macs
	}
	r.Connectors = slices.Clone(r.Connectors)
	slices.SortFunc(r.Connectors, func(a, b Connector) int { return int(a.Number) - int(b.Number) })
	return r
}

// CheckRegistration checks every field of r that needs no database: ids,
// protocol, texts, the vendor ids the protocol addresses the charger by, and
// connectors. It returns every problem found, each an *InvalidError.
func CheckRegistration(r Registration) []*InvalidError {
	var errs []*InvalidError
	add := func(err error) {
		var invalid *InvalidError
		if errors.As(err, &invalid) {
			errs = append(errs, invalid)
		}
	}
	add(CheckID("edge_id", r.EdgeID))
	add(CheckID("charger_id", r.ChargerID))
	if r.SiteID != "" {
		add(CheckID("site_id", r.SiteID))
	}
	add(checkText("model", r.Model, MaxTextLen))
	add(checkText("vendor", r.Vendor, MaxTextLen))
	add(checkText("firmware", r.Firmware, MaxTextLen))
	if !slices.Contains(Protocols(), r.Protocol) {
		add(&InvalidError{Field: "protocol", Reason: fmt.Sprintf("must be one of %s, got %.32q", strings.Join(Protocols(), ", "), r.Protocol)})
	} else {
		errs = append(errs, checkVendorIDs(r.Protocol, r.VendorIDs)...)
	}
	errs = append(errs, checkConnectors(r.Connectors)...)
	return errs
}

// checkVendorIDs requires the id r's protocol addresses the charger by
// (none for AP3000, whose device id is the charger id) and refuses ids of
// other protocols, which would never be used.
func checkVendorIDs(protocol string, v VendorIDs) []*InvalidError {
	var errs []*InvalidError
	only := func(field, owner string) {
		errs = append(errs, &InvalidError{Field: field, Reason: fmt.Sprintf("only for protocol %s, this charger's is %s", owner, protocol)})
	}
	if protocol == ProtocolBKV {
		if !isHex(v.BKVGatewayID, 14) {
			errs = append(errs, &InvalidError{Field: "bkv_gateway_id", Reason: fmt.Sprintf("must be 14 hex digits, got %.32q", v.BKVGatewayID)})
		}
		if len(v.BKVSocketMACs) > MaxSocketMACs {
			errs = append(errs, &InvalidError{Field: "bkv_socket_macs", Reason: fmt.Sprintf("at most %d, got %d", MaxSocketMACs, len(v.BKVSocketMACs))})
		}
		seen := map[string]int{}
		for i, mac := range v.BKVSocketMACs {
			if !isHex(mac, 12) {
				errs = append(errs, &InvalidError{Field: "bkv_socket_macs", Reason: fmt.Sprintf("MAC %d must be 12 hex digits, got %.32q", i+1, mac)})
				continue
			}
			if j, dup := seen[strings.ToLower(mac)]; dup {
				errs = append(errs, &InvalidError{Field: "bkv_socket_macs", Reason: fmt.Sprintf("MAC %d repeats MAC %d (%s)", i+1, j, mac)})
			}
			seen[strings.ToLower(mac)] = i + 1
		}
	} else {
		if v.BKVGatewayID != "" {
			only("bkv_gateway_id", ProtocolBKV)
		}
		if len(v.BKVSocketMACs) > 0 {
			only("bkv_socket_macs", ProtocolBKV)
		}
	}
	if protocol == ProtocolYKC {
		if !isDigits(v.YKCPileCode, 14) {
			errs = append(errs, &InvalidError{Field: "ykc_pile_code", Reason: fmt.Sprintf("must be 14 decimal digits, got %.32q", v.YKCPileCode)})
		}
	} else if v.YKCPileCode != "" {
		only("ykc_pile_code", ProtocolYKC)
	}
	if protocol == ProtocolOCPP16 {
		switch id := v.OCPPIdentity; {
		case id == "":
			errs = append(errs, &InvalidError{Field: "ocpp_identity", Reason: "required for protocol ocpp16"})
		case len(id) > MaxOCPPIdentityLen:
			errs = append(errs, &InvalidError{Field: "ocpp_identity", Reason: fmt.Sprintf("at most %d bytes, got %d", MaxOCPPIdentityLen, len(id))})
		case strings.ContainsRune(id, '/'):
			errs = append(errs, &InvalidError{Field: "ocpp_identity", Reason: "must not contain '/': it is the last path segment of the charge point's URL"})
		default:
			var invalid *InvalidError
			if errors.As(checkText("ocpp_identity", id, MaxOCPPIdentityLen), &invalid) {
				errs = append(errs, invalid)
			}
		}
	} else if v.OCPPIdentity != "" {
		only("ocpp_identity", ProtocolOCPP16)
	}
	return errs
}

func checkConnectors(cs []Connector) []*InvalidError {
	var errs []*InvalidError
	if len(cs) > MaxConnectors {
		return append(errs, &InvalidError{Field: "connectors", Reason: fmt.Sprintf("at most %d, got %d", MaxConnectors, len(cs))})
	}
	seen := map[uint32]bool{}
	for i, c := range cs {
		bad := func(reason string) {
			errs = append(errs, &InvalidError{Field: "connectors", Reason: fmt.Sprintf("connector %d: %s", i+1, reason)})
		}
		switch {
		case c.Number < 1 || c.Number > MaxConnector:
			bad(fmt.Sprintf("number must be between 1 and %d, got %d", MaxConnector, c.Number))
		case seen[c.Number]:
			bad(fmt.Sprintf("number %d is used twice", c.Number))
		}
		seen[c.Number] = true
		if !slices.Contains(ConnectorKinds(), c.Kind) {
			bad(fmt.Sprintf("kind must be one of %s, got %.16q", strings.Join(ConnectorKinds(), ", "), c.Kind))
		}
		if err := checkText("label", c.Label, MaxTextLen); err != nil {
			bad(err.Error())
		}
	}
	return errs
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// reportedVendorIDs derives the vendor ids of a charger accepted from what
// its edge reported: the edge names a charger by the id its protocol
// addresses it by (BKV gateway id, YKC pile code, OCPP identity), so the
// charger id is that id when it has the right form.
func reportedVendorIDs(protocol, chargerID string) VendorIDs {
	switch {
	case protocol == ProtocolBKV && isHex(chargerID, 14):
		return VendorIDs{BKVGatewayID: strings.ToLower(chargerID)}
	case protocol == ProtocolYKC && isDigits(chargerID, 14):
		return VendorIDs{YKCPileCode: chargerID}
	case protocol == ProtocolOCPP16 && !strings.ContainsRune(chargerID, '/') && len(chargerID) <= MaxOCPPIdentityLen:
		return VendorIDs{OCPPIdentity: chargerID}
	}
	return VendorIDs{}
}
