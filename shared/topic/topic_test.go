package topic

import (
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	s, err := New("cp/v1")
	if err != nil {
		t.Fatal(err)
	}
	name := s.Stream("acme", "edge-1", Up, KindEvents)
	if name != "cp/v1/acme/edge-1/up/events" {
		t.Fatalf("Stream = %q", name)
	}
	got, err := s.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	want := Topic{Tenant: "acme", Edge: "edge-1", Dir: Up, Kind: KindEvents}
	if got != want {
		t.Fatalf("Parse = %+v, want %+v", got, want)
	}
	if sub := s.SharedUp("cloud"); sub != "$share/cloud/cp/v1/+/+/up/#" {
		t.Fatalf("SharedUp = %q", sub)
	}
	if st := s.State("acme", "edge-1"); st != "cp/v1/acme/edge-1/state" {
		t.Fatalf("State = %q", st)
	}
}

func TestParseRejects(t *testing.T) {
	s, _ := New("test/x")
	for _, name := range []string{
		"cp/v1/acme/edge/up/events",
		"test/x/acme/edge/up",
		"test/x/acme/edge/sideways/events",
		"test/x/acme//up/events",
		"test/x/acme/edge/up/events/more",
	} {
		if _, err := s.Parse(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, root := range []string{"", "/", "a/+/b", "#", "$SYS"} {
		if _, err := New(root); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%q) err = %v, want ErrInvalid", root, err)
		}
	}
}
