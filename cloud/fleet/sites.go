package fleet

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	// The cloud checks site time zones with time.LoadLocation; embedding the
	// IANA database keeps that answer the same on a host without tzdata.
	_ "time/tzdata"
)

// Limits of stored site values.
const (
	// MaxIDLen bounds site, edge and charger ids.
	MaxIDLen = 128
	// MaxNameLen bounds a site's name.
	MaxNameLen = 200
	// MaxAddressLen bounds a site's address.
	MaxAddressLen = 500
)

// Site is a physical location of a tenant.
type Site struct {
	TenantID string
	ID       string
	Name     string
	Address  string
	// Location is nil when the site has none.
	Location *LatLng
	// Timezone is an IANA zone name ("Asia/Shanghai").
	Timezone  string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LatLng is a WGS84 position in degrees.
type LatLng struct {
	Latitude  float64
	Longitude float64
}

// SiteCursor is the position after which ListSites continues: the id of the
// last site of the previous page.
type SiteCursor struct {
	SiteID string
}

// CheckSite checks what a site may hold; the timestamps are ignored.
func CheckSite(s Site) error {
	if err := CheckID("site_id", s.ID); err != nil {
		return err
	}
	if strings.TrimSpace(s.Name) == "" {
		return &InvalidError{Field: "name", Reason: "required"}
	}
	if err := checkText("name", s.Name, MaxNameLen); err != nil {
		return err
	}
	if err := checkText("address", s.Address, MaxAddressLen); err != nil {
		return err
	}
	if l := s.Location; l != nil {
		if math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90 {
			return &InvalidError{Field: "latitude", Reason: fmt.Sprintf("must be between -90 and 90 degrees, got %v", l.Latitude)}
		}
		if math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180 {
			return &InvalidError{Field: "longitude", Reason: fmt.Sprintf("must be between -180 and 180 degrees, got %v", l.Longitude)}
		}
	}
	return CheckTimezone(s.Timezone)
}

// CheckTimezone accepts an IANA time zone name. "" and "Local" are refused:
// both name the server's zone, not the site's.
func CheckTimezone(tz string) error {
	if tz == "" {
		return &InvalidError{Field: "timezone", Reason: `required: an IANA time zone name such as "Asia/Shanghai"`}
	}
	if tz == "Local" {
		return &InvalidError{Field: "timezone", Reason: `"Local" is the server's zone: name the site's IANA zone, such as "Asia/Shanghai"`}
	}
	if _, err := time.LoadLocation(tz); err != nil {
		return &InvalidError{Field: "timezone", Reason: fmt.Sprintf("%.64q is not an IANA time zone name (such as \"Asia/Shanghai\")", tz)}
	}
	return nil
}

// CheckID checks a site, edge or charger id: non-empty, at most MaxIDLen
// bytes, and without the characters MQTT topic levels cannot hold (edge
// and charger ids appear in topics).
func CheckID(field, v string) error {
	switch {
	case v == "":
		return &InvalidError{Field: field, Reason: "required"}
	case len(v) > MaxIDLen:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", MaxIDLen, len(v))}
	case strings.ContainsAny(v, "/+#\x00"):
		return &InvalidError{Field: field, Reason: "must not contain '/', '+', '#' or NUL"}
	case !utf8.ValidString(v):
		return &InvalidError{Field: field, Reason: "must be UTF-8"}
	}
	return nil
}

// checkText checks free text: valid UTF-8 without NUL (Postgres text cannot
// hold it), at most max bytes.
func checkText(field, v string, limit int) error {
	switch {
	case len(v) > limit:
		return &InvalidError{Field: field, Reason: fmt.Sprintf("at most %d bytes, got %d", limit, len(v))}
	case !utf8.ValidString(v) || strings.ContainsRune(v, 0):
		return &InvalidError{Field: field, Reason: "must be UTF-8 text without NUL"}
	}
	return nil
}
