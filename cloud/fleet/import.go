package fleet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Bounds of one import: the whole file is validated and written in one
// transaction.
const (
	MaxImportRows = 10_000
	// MaxImportBytes is far more than 10,000 rows of real registrations
	// need (a BKV gateway with 16 socket MACs is about 300 bytes).
	MaxImportBytes = 8 << 20
)

// Import columns. edge_id, charger_id and protocol are required; the
// others may be left out of the header.
const (
	ColEdgeID        = "edge_id"
	ColChargerID     = "charger_id"
	ColSiteID        = "site_id"
	ColProtocol      = "protocol"
	ColModel         = "model"
	ColVendor        = "vendor"
	ColFirmware      = "firmware"
	ColBKVGatewayID  = "bkv_gateway_id"
	ColBKVSocketMACs = "bkv_socket_macs"
	ColYKCPileCode   = "ykc_pile_code"
	ColOCPPIdentity  = "ocpp_identity"
	ColConnectors    = "connectors"
)

// ImportColumns lists every column an import file may have.
func ImportColumns() []string {
	return []string{ColEdgeID, ColChargerID, ColSiteID, ColProtocol, ColModel, ColVendor, ColFirmware,
		ColBKVGatewayID, ColBKVSocketMACs, ColYKCPileCode, ColOCPPIdentity, ColConnectors}
}

func requiredColumns() []string { return []string{ColEdgeID, ColChargerID, ColProtocol} }

// RowError is one problem of an import file.
type RowError struct {
	// Line is the 1-based line of the file (the header is line 1) where the
	// row starts.
	Line int
	// Field is the column, or "" for a problem with the whole row.
	Field   string
	Message string
}

// ImportRow is one valid data row.
type ImportRow struct {
	Line         int
	Registration Registration
}

// ImportResult says what an import did. When Errors is not empty nothing
// was written and the counts are 0.
type ImportResult struct {
	Errors    []RowError
	Created   int
	Updated   int
	Unchanged int
}

// ParseImport reads an import file (see docs/fleet.md): a UTF-8 CSV with a
// header row and 1 to MaxImportRows data rows, at most MaxImportBytes. It checks every row on its
// own (everything that needs no database) and returns the valid rows and
// every problem found, by line and column. A file of the wrong size is an
// *InvalidError for field "csv", not a row error.
func ParseImport(data []byte) ([]ImportRow, []RowError, error) {
	if len(data) > MaxImportBytes {
		return nil, nil, &InvalidError{Field: "csv", Reason: fmt.Sprintf("%d bytes, at most %d per import: split the file", len(data), MaxImportBytes)}
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // spreadsheet programs write a BOM
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // counted below, to say which line is short
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &InvalidError{Field: "csv", Reason: "empty: want a header row and 1 to 10000 data rows"}
	}
	if err != nil {
		return nil, []RowError{csvError(err)}, nil
	}
	cols, errs := parseHeader(header)
	if len(errs) > 0 {
		return nil, errs, nil
	}

	var (
		rows  []ImportRow
		first = map[Cursor]int{}
		n     int
	)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A broken quote leaves nothing reliable to read after it.
			errs = append(errs, csvError(err))
			break
		}
		n++
		if n > MaxImportRows {
			return nil, nil, &InvalidError{Field: "csv", Reason: fmt.Sprintf("more than %d data rows: split the file", MaxImportRows)}
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			errs = append(errs, RowError{Line: line, Message: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header))})
			continue
		}
		reg, rowErrs := parseRow(cols, rec)
		for _, e := range rowErrs {
			errs = append(errs, RowError{Line: line, Field: e.Field, Message: e.Reason})
		}
		key := Cursor{EdgeID: reg.EdgeID, ChargerID: reg.ChargerID}
		if prev, dup := first[key]; dup && reg.EdgeID != "" && reg.ChargerID != "" {
			errs = append(errs, RowError{Line: line, Field: ColChargerID,
				Message: fmt.Sprintf("charger %q of edge %q is already on line %d", reg.ChargerID, reg.EdgeID, prev)})
			continue
		}
		first[key] = line
		if len(rowErrs) == 0 {
			rows = append(rows, ImportRow{Line: line, Registration: reg})
		}
	}
	if n == 0 && len(errs) == 0 {
		return nil, nil, &InvalidError{Field: "csv", Reason: "no data rows: want 1 to 10000 after the header"}
	}
	return rows, errs, nil
}

func csvError(err error) RowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return RowError{Line: pe.StartLine, Message: "not valid CSV: " + pe.Err.Error()}
	}
	return RowError{Line: 1, Message: "not valid CSV"}
}

// parseHeader maps each known column to its index.
func parseHeader(header []string) (map[string]int, []RowError) {
	cols := map[string]int{}
	var errs []RowError
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(ImportColumns(), name):
			errs = append(errs, RowError{Line: 1, Field: h, Message: fmt.Sprintf("unknown column %.64q: columns are %s", h, strings.Join(ImportColumns(), ", "))})
		case cols[name] > 0:
			errs = append(errs, RowError{Line: 1, Field: name, Message: "column appears twice"})
		default:
			cols[name] = i + 1 // 0 means absent
		}
	}
	for _, c := range requiredColumns() {
		if cols[c] == 0 {
			errs = append(errs, RowError{Line: 1, Field: c, Message: "required column is missing"})
		}
	}
	return cols, errs
}

// parseRow turns one record into a normalised registration and checks it.
func parseRow(cols map[string]int, rec []string) (Registration, []*InvalidError) {
	get := func(col string) string {
		if i := cols[col]; i > 0 {
			return strings.TrimSpace(rec[i-1])
		}
		return ""
	}
	r := Registration{
		EdgeID:    get(ColEdgeID),
		ChargerID: get(ColChargerID),
		SiteID:    get(ColSiteID),
		Protocol:  strings.ToLower(get(ColProtocol)),
		Model:     get(ColModel),
		Vendor:    get(ColVendor),
		Firmware:  get(ColFirmware),
		VendorIDs: VendorIDs{
			BKVGatewayID:  get(ColBKVGatewayID),
			BKVSocketMACs: splitList(get(ColBKVSocketMACs)),
			YKCPileCode:   get(ColYKCPileCode),
			OCPPIdentity:  get(ColOCPPIdentity),
		},
	}
	var errs []*InvalidError
	connectors, err := parseConnectors(get(ColConnectors))
	if err != nil {
		errs = append(errs, err)
	}
	r.Connectors = connectors
	errs = append(CheckRegistration(r), errs...)
	return r.Normalize(), errs
}

// splitList splits a ';'-separated list, ignoring a trailing ';'.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	parts := strings.Split(strings.TrimSuffix(s, ";"), ";")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// parseConnectors reads "1:ac:7000;2:dc:60000" (number:kind:max_power_w,
// the power in W, 0 for unknown). The values are checked by
// CheckRegistration; this only reads the syntax.
func parseConnectors(s string) ([]Connector, *InvalidError) {
	var out []Connector
	for i, part := range splitList(s) {
		f := strings.Split(part, ":")
		if len(f) != 3 {
			return nil, &InvalidError{Field: ColConnectors, Reason: fmt.Sprintf(
				"connector %d: want number:kind:max_power_w (such as 1:ac:7000), got %.32q", i+1, part)}
		}
		number, err := strconv.ParseUint(strings.TrimSpace(f[0]), 10, 32)
		if err != nil {
			return nil, &InvalidError{Field: ColConnectors, Reason: fmt.Sprintf("connector %d: number %.16q is not a whole number", i+1, f[0])}
		}
		power, err := strconv.ParseUint(strings.TrimSpace(f[2]), 10, 32)
		if err != nil {
			return nil, &InvalidError{Field: ColConnectors, Reason: fmt.Sprintf("connector %d: max_power_w %.16q is not a whole number of watts (0 for unknown)", i+1, f[2])}
		}
		out = append(out, Connector{Number: uint32(number), Kind: strings.ToLower(strings.TrimSpace(f[1])), MaxPowerW: uint32(power)})
	}
	return out, nil
}
