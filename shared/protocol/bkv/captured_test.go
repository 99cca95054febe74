package bkv

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapturedFrames decodes the frames captured from real gateways in
// testdata/captured (STYLE.md §3): each must come out of Split whole,
// decode, and re-encode to the same bytes.
func TestCapturedFrames(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "captured", "*.hex"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captured frames in testdata/captured: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for lineNo := 1; sc.Scan(); lineNo++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			frame, err := hex.DecodeString(line)
			if err != nil {
				t.Errorf("%s:%d: %v", name, lineNo, err)
				continue
			}
			if n, err := Split(frame); n != len(frame) || err != nil {
				t.Errorf("%s:%d: Split = %d, %v", name, lineNo, n, err)
			}
			f, err := Decode(frame)
			if err != nil {
				t.Errorf("%s:%d: Decode: %v", name, lineNo, err)
				continue
			}
			if again, err := Append(nil, f); err != nil || !bytes.Equal(again, frame) {
				t.Errorf("%s:%d: Append(Decode(frame)) = %x, %v", name, lineNo, again, err)
			}
		}
	}
}
