package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/chargeplane/chargeplane/shared/protocol/inspect"
)

// runDecode is `chargeplane-edge decode`: installers paste frames from a
// device log and get one JSON object per frame, or an error object naming the
// reason and byte offset. Exit code 1 if any frame was invalid.
func runDecode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	protocol := fs.String("protocol", "", "bkv, ap3000 or ykc (required)")
	dir := fs.String("dir", "", "up (charger → platform) or down; default: from the frame where the protocol says")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: chargeplane-edge decode --protocol bkv|ap3000|ykc [--dir up|down] [HEX...]\n"+
			"Without HEX arguments, reads one hex frame per line from standard input\n"+
			"(spaces, 0x prefixes and lines starting with # are ignored).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c, err := inspect.For(*protocol)
	if err != nil {
		fmt.Fprintf(stderr, "decode: --protocol must be bkv, ap3000 or ykc (got %q)\n", *protocol)
		return 2
	}
	if *dir != "" && *dir != "up" && *dir != "down" {
		fmt.Fprintf(stderr, "decode: --dir must be up or down (got %q)\n", *dir)
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	bad := false
	emit := func(line string) {
		for _, obj := range decodeLine(c, line, *dir) {
			if _, isErr := obj["error"]; isErr {
				bad = true
			}
			_ = enc.Encode(obj)
		}
	}
	if fs.NArg() > 0 {
		for _, a := range fs.Args() {
			emit(a)
		}
	} else {
		sc := bufio.NewScanner(stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			emit(line)
		}
		if err := sc.Err(); err != nil {
			fmt.Fprintf(stderr, "decode: read input: %v\n", err)
			return 1
		}
	}
	if bad {
		return 1
	}
	return 0
}

// decodeLine decodes every frame in one line of hex.
func decodeLine(c inspect.Codec, line, dir string) []map[string]any {
	clean := strings.NewReplacer(" ", "", "\t", "", "0x", "", "0X", "", ":", "").Replace(line)
	raw, err := hex.DecodeString(clean)
	if err != nil {
		obj := map[string]any{"error": "invalid hex: " + err.Error(), "input": line}
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			obj["offset"] = strings.IndexByte(clean, byte(ie)) / 2
		}
		return []map[string]any{obj}
	}
	var out []map[string]any
	at := 0
	for at < len(raw) {
		n, err := c.Split(raw[at:])
		switch {
		case err != nil:
			return append(out, errObject(err, at, raw[at:]))
		case n == 0:
			return append(out, map[string]any{
				"error": fmt.Sprintf("incomplete frame: %d bytes, more expected", len(raw)-at), "offset": at,
				"hex": hex.EncodeToString(raw[at:]),
			})
		}
		frame := raw[at : at+n]
		fields, err := c.Inspect(frame, dir)
		if err != nil {
			out = append(out, errObject(err, at, frame))
		} else {
			fields["hex"] = hex.EncodeToString(frame)
			out = append(out, fields)
		}
		at += n
	}
	return out
}

func errObject(err error, base int, frame []byte) map[string]any {
	obj := map[string]any{"error": err.Error(), "offset": base, "hex": hex.EncodeToString(frame)}
	if off, ok := inspect.Offset(err); ok {
		obj["offset"] = base + off
	}
	return obj
}
