// Package topic builds and parses the MQTT topic names edge and cloud share
// (ARCHITECTURE.md, "Why two channels"). It is the single source of those
// names for both tiers:
//
//	{root}/{tenant}/{edge}/up/{kind}     edge → cloud streams (events, results)
//	{root}/{tenant}/{edge}/down/{kind}   cloud → edge commands and hints
//	{root}/{tenant}/{edge}/state         retained "online"/"offline" (last will)
//
// The root is "cp/v1" in production; tests use their own root so that test
// packages sharing one broker never see each other's messages.
package topic

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultRoot is the production topic root.
const DefaultRoot = "cp/v1"

// Directions of a stream topic.
const (
	Up   = "up"
	Down = "down"
)

// Kinds of stream.
const (
	// KindEvents (up) carries EventBatch messages.
	KindEvents = "events"
	// KindCommands (down) carries ChargerCommand messages.
	KindCommands = "commands"
	// KindConfig (down) is the config-changed hint: its payload is the new
	// config version as decimal text; the edge then calls
	// SyncService.PullConfig. A hint is only a nudge: edges also pull on
	// start, after reconnecting and periodically.
	KindConfig = "config"
)

// State payloads on the retained state topic.
const (
	StateOnline  = "online"
	StateOffline = "offline"
)

// ErrInvalid reports a topic or topic segment that does not follow the layout.
var ErrInvalid = errors.New("invalid topic")

// Space is one topic tree under a root.
type Space struct {
	root string
}

// New returns the topic space under root (e.g. "cp/v1"). root must be
// non-empty and contain no wildcards.
func New(root string) (Space, error) {
	root = strings.Trim(root, "/")
	if root == "" || strings.ContainsAny(root, "+#") || strings.HasPrefix(root, "$") {
		return Space{}, fmt.Errorf("topic root %q: %w", root, ErrInvalid)
	}
	return Space{root: root}, nil
}

// Root returns the root the space was built with.
func (s Space) Root() string { return s.root }

// ValidSegment reports whether v can be used as one topic level (tenant, edge
// or kind): non-empty, and free of '/', '+', '#' and NUL.
func ValidSegment(v string) bool {
	return v != "" && !strings.ContainsAny(v, "/+#\x00")
}

// Stream returns {root}/{tenant}/{edge}/{dir}/{kind}.
func (s Space) Stream(tenant, edge, dir, kind string) string {
	return s.root + "/" + tenant + "/" + edge + "/" + dir + "/" + kind
}

// State returns {root}/{tenant}/{edge}/state.
func (s Space) State(tenant, edge string) string {
	return s.root + "/" + tenant + "/" + edge + "/state"
}

// SharedUp returns the shared subscription through which cloud replicas split
// every edge's upward streams between them.
func (s Space) SharedUp(group string) string {
	return "$share/" + group + "/" + s.root + "/+/+/" + Up + "/#"
}

// Down returns the subscription an edge uses for its own downward streams.
func (s Space) Down(tenant, edge string) string {
	return s.root + "/" + tenant + "/" + edge + "/" + Down + "/#"
}

// Topic is a parsed stream topic.
type Topic struct {
	Tenant string
	Edge   string
	Dir    string
	Kind   string
}

// Parse parses a stream topic of this space.
func (s Space) Parse(name string) (Topic, error) {
	rest, ok := strings.CutPrefix(name, s.root+"/")
	if !ok {
		return Topic{}, fmt.Errorf("topic %q not under %q: %w", name, s.root, ErrInvalid)
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 4 {
		return Topic{}, fmt.Errorf("topic %q: want tenant/edge/dir/kind: %w", name, ErrInvalid)
	}
	t := Topic{Tenant: parts[0], Edge: parts[1], Dir: parts[2], Kind: parts[3]}
	if t.Dir != Up && t.Dir != Down {
		return Topic{}, fmt.Errorf("topic %q: direction %q: %w", name, t.Dir, ErrInvalid)
	}
	for _, seg := range parts {
		if !ValidSegment(seg) {
			return Topic{}, fmt.Errorf("topic %q: empty or wildcard level: %w", name, ErrInvalid)
		}
	}
	return t, nil
}
