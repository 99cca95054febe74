package control

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	chargeplanev1 "github.com/chargeplane/chargeplane/proto/gen/chargeplane/v1"
)

// The ctl/ key layout, documented in doc.go. Changing it means teaching
// NewBook to read the old form (the record's "v" field).
const (
	keyConfig   = "ctl/config"
	openPrefix  = "ctl/open/"
	debitPrefix = "ctl/debit/"

	recordVersion = 1
)

// sessKey names one session: the charger's session_ref is unique per
// connector only while the session runs.
type sessKey struct {
	charger   string
	connector uint32
	ref       string
}

// connKey names one connector.
type connKey struct {
	charger   string
	connector uint32
}

func (k sessKey) conn() connKey { return connKey{k.charger, k.connector} }

// appendSessKey appends charger \x00 connector (4 bytes, big-endian) \x00 ref.
func appendSessKey(b []byte, k sessKey) []byte {
	b = append(b, k.charger...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, k.connector)
	b = append(b, 0)
	return append(b, k.ref...)
}

func openKey(k sessKey) []byte { return appendSessKey([]byte(openPrefix), k) }

// debitKey adds the session's ended_at (Unix nanoseconds, 8 bytes
// big-endian) so that a reused session_ref never overwrites a debit.
func debitKey(k sessKey, endedAt time.Time) []byte {
	b := appendSessKey([]byte(debitPrefix), k)
	b = append(b, 0)
	return binary.BigEndian.AppendUint64(b, uint64(endedAt.UnixNano())) //nolint:gosec // bit pattern, parsed back the same way
}

var errBadKey = errors.New("malformed control key")

// parseSessKey reads the part after the prefix written by appendSessKey.
func parseSessKey(b []byte) (sessKey, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 || len(b) < i+1+4+1 || b[i+5] != 0 {
		return sessKey{}, fmt.Errorf("%w: %q", errBadKey, b)
	}
	return sessKey{charger: string(b[:i]), connector: binary.BigEndian.Uint32(b[i+1 : i+5]), ref: string(b[i+6:])}, nil
}

func parseOpenKey(key []byte) (sessKey, error) {
	return parseSessKey(bytes.TrimPrefix(key, []byte(openPrefix)))
}

func parseDebitKey(key []byte) (sessKey, time.Time, error) {
	b := bytes.TrimPrefix(key, []byte(debitPrefix))
	if len(b) < 9 || b[len(b)-9] != 0 {
		return sessKey{}, time.Time{}, fmt.Errorf("%w: %q", errBadKey, key)
	}
	k, err := parseSessKey(b[:len(b)-9])
	if err != nil {
		return sessKey{}, time.Time{}, err
	}
	return k, time.Unix(0, int64(binary.BigEndian.Uint64(b[len(b)-8:]))), nil //nolint:gosec // written from UnixNano
}

// openRecord is the stored form of an open session (JSON: readable with a
// Badger dump, and a new field is only a new key).
type openRecord struct {
	V              int          `json:"v"`
	Protocol       string       `json:"protocol"`
	StartedAt      time.Time    `json:"started_at"`
	CardID         string       `json:"card_id,omitempty"`
	UserID         string       `json:"user_id,omitempty"`
	AuthMethod     string       `json:"auth_method"`
	Offline        bool         `json:"offline,omitempty"`
	StartCommandID string       `json:"start_command_id,omitempty"`
	LimitFen       int64        `json:"limit_fen,omitempty"`
	Tariff         tariffRecord `json:"tariff"`
	EnergyMWh      []int64      `json:"energy_mwh"` // per tariff period
	LastMeterMWh   int64        `json:"last_meter_mwh"`
	LastPeriod     int          `json:"last_period"`
	Metered        bool         `json:"metered,omitempty"`
	LimitStopSent  bool         `json:"limit_stop_sent,omitempty"`
	OperatorStop   bool         `json:"operator_stop,omitempty"`
}

type tariffRecord struct {
	ID      string         `json:"id"`
	Periods []periodRecord `json:"periods"`
}

type periodRecord struct {
	StartMinute uint32 `json:"start_minute"`
	Electricity int64  `json:"electricity_mfen_per_kwh"`
	Service     int64  `json:"service_mfen_per_kwh"`
}

func tariffToRecord(t *chargeplanev1.Tariff) tariffRecord {
	r := tariffRecord{ID: t.GetId()}
	for _, p := range t.GetPeriods() {
		r.Periods = append(r.Periods, periodRecord{p.GetStartMinute(), p.GetElectricityMfenPerKwh(), p.GetServiceMfenPerKwh()})
	}
	return r
}

func (r tariffRecord) proto() *chargeplanev1.Tariff {
	t := &chargeplanev1.Tariff{Id: r.ID}
	for _, p := range r.Periods {
		t.Periods = append(t.Periods, &chargeplanev1.TariffPeriod{StartMinute: p.StartMinute, ElectricityMfenPerKwh: p.Electricity, ServiceMfenPerKwh: p.Service})
	}
	return t
}

// debitRecord is the stored form of a local debit.
type debitRecord struct {
	V       int    `json:"v"`
	CardID  string `json:"card_id"`
	Amount  int64  `json:"amount_fen"`
	Covered uint64 `json:"covered_version,omitempty"`
}

func encodeRecord(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only plain fields: cannot fail.
		panic(fmt.Sprintf("encode control record: %v", err))
	}
	return b
}

func decodeRecord(key, val []byte, v any, version *int) error {
	if err := json.Unmarshal(val, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	if *version != recordVersion {
		return fmt.Errorf("decode %q: record version %d, this edge reads %d", key, *version, recordVersion)
	}
	return nil
}
