package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestConfigPrecedence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.yaml")
	body := "tenant_id: t1\nedge_id: from-file\nstore:\n  dir: /file\ngateway:\n  addr: 127.0.0.1:9000\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := env(map[string]string{"CHARGEPLANE_EDGE_EDGE_ID": "from-env", "CHARGEPLANE_EDGE_STORE_DIR": "/env"})
	cfg, check, err := loadConfig([]string{"-config", path, "-store", "/flag", "-set", "gateway.max_conns=7"}, getenv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if check {
		t.Error("check-config not requested")
	}
	if cfg.TenantID != "t1" || cfg.EdgeID != "from-env" || cfg.Store.Dir != "/flag" || cfg.Gateway.MaxConns != 7 || cfg.Gateway.Addr != "127.0.0.1:9000" {
		t.Fatalf("config = %+v", cfg)
	}
}

func TestInvalidConfigNamesEveryKey(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-set", "gateway.max_conns=0", "-set", "uplink.batch_events=0"}, nil, &bytes.Buffer{}, &stderr, env(nil))
	if code == 0 {
		t.Fatal("invalid config accepted")
	}
	for _, key := range []string{"tenant_id", "edge_id", "store.dir", "gateway.max_conns", "uplink.batch_events"} {
		if !strings.Contains(stderr.String(), key) {
			t.Errorf("error output does not name %s:\n%s", key, stderr.String())
		}
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(path, []byte("gateway:\n  adr: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"-config", path}, nil, &bytes.Buffer{}, &stderr, env(nil)); code == 0 || !strings.Contains(stderr.String(), "adr") {
		t.Fatalf("code %d, stderr %q: want the unknown key named", code, stderr.String())
	}
}

func TestShippedConfigIsValid(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-config", "../../../deploy/chargeplane-edge.yaml", "-check-config"}, nil, &stdout, &stderr, env(nil))
	if code != 0 || !strings.Contains(stdout.String(), "valid") {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func decode(t *testing.T, stdin string, args ...string) (int, []map[string]any) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"decode"}, args...), strings.NewReader(stdin), &stdout, &stderr, env(nil))
	var objs []map[string]any
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("output is not JSON lines: %v\n%s", err, stdout.String())
		}
		objs = append(objs, m)
	}
	return code, objs
}

func TestDecodeTool(t *testing.T) {
	const hb = "fcfe002e0000000000000182200520004869383938363034363331313230373033313934313763562e31723436001fcafcee"
	code, objs := decode(t, "", "--protocol", "bkv", hb)
	if code != 0 || len(objs) != 1 {
		t.Fatalf("code %d, objs %v", code, objs)
	}
	if objs[0]["gateway_id"] != "82200520004869" || objs[0]["iccid"] != "89860463112070319417" || objs[0]["signal"] != float64(31) {
		t.Fatalf("decoded %v", objs[0])
	}

	// stdin, with comments, spaces and two frames on one line; then a bad checksum.
	bad := hb[:len(hb)-6] + "cb" + "fcee"
	var spaced strings.Builder
	for i := 0; i < len(hb); i += 2 {
		spaced.WriteString(hb[i:i+2] + " ")
	}
	code, objs = decode(t, "# from device log\n"+spaced.String()+hb+"\n\n"+bad+"\n", "--protocol", "bkv", "--dir", "up")
	if code != 1 {
		t.Fatalf("code = %d, want 1 when a frame is invalid", code)
	}
	if len(objs) != 3 || objs[0]["iccid"] == nil || objs[1]["iccid"] == nil {
		t.Fatalf("objs = %v", objs)
	}
	if objs[2]["error"] == nil || objs[2]["offset"] == nil {
		t.Fatalf("bad frame object = %v, want error and offset", objs[2])
	}

	if code, objs := decode(t, "", "--protocol", "bkv", "fcfe00zz"); code != 1 || objs[0]["error"] == nil {
		t.Fatalf("invalid hex: code %d objs %v", code, objs)
	}
	if code, _ := decode(t, "", "--protocol", "nope", hb); code != 2 {
		t.Fatalf("unknown protocol: code %d, want 2", code)
	}
}
