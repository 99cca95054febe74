// Package config loads a binary's typed configuration: defaults, overlaid by a
// YAML file, by environment variables and by flags, in that order
// (STYLE.md §8). It knows nothing of any binary's keys: it walks the struct's
// `yaml` tags, so every key has exactly one name in YAML, env and flags.
//
// Only a binary's run function calls it; packages receive their typed
// sub-struct and never read the environment.
package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ErrUnknownKey reports a key that the configuration struct does not have.
var ErrUnknownKey = errors.New("unknown key")

// Load overlays dst (a pointer to a struct already holding defaults, with
// `yaml` tags) with the YAML file at path (skipped when path is empty; unknown
// keys are an error naming them), then with environment variables. A leaf's
// environment name is envPrefix + "_" + its yaml path, upper-cased, joined by
// "_": CHARGEPLANE_CLOUD_POSTGRES_URL for postgres.url.
func Load(dst any, path string, getenv func(string) string, envPrefix string) error {
	if path != "" {
		raw, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read config file: %w", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		// An empty file decodes to io.EOF: it sets nothing, which is fine.
		if err := dec.Decode(dst); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if getenv == nil {
		return nil
	}
	var errs []error
	walk(reflect.ValueOf(dst).Elem(), nil, func(keyPath []string, v reflect.Value) {
		name := envPrefix + "_" + strings.ToUpper(strings.Join(keyPath, "_"))
		val := getenv(name)
		if val == "" {
			return
		}
		if err := setText(v, val); err != nil {
			errs = append(errs, fmt.Errorf("env %s (%s): %w", name, strings.Join(keyPath, "."), err))
		}
	})
	return errors.Join(errs...)
}

// Set assigns one leaf field by its dotted yaml path ("postgres.url") from
// text. It supports string, bool, integers, floats, time.Duration, []string
// (comma separated) and encoding.TextUnmarshaler types.
func Set(dst any, key, value string) error {
	v := reflect.ValueOf(dst).Elem()
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if v.Kind() != reflect.Struct {
			return fmt.Errorf("%s: %w", key, ErrUnknownKey)
		}
		f, ok := fieldByTag(v, p)
		if !ok {
			return fmt.Errorf("%s: %w", key, ErrUnknownKey)
		}
		v = f
		if i == len(parts)-1 && isLeaf(v) {
			if err := setText(v, value); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: not a single setting: %w", key, ErrUnknownKey)
}

// Keys lists every leaf key's dotted yaml path, for help text and docs.
func Keys(cfg any) []string {
	var keys []string
	walk(reflect.ValueOf(cfg), nil, func(p []string, _ reflect.Value) {
		keys = append(keys, strings.Join(p, "."))
	})
	return keys
}

// Redacted returns a copy of the struct v with every field tagged
// `secret:"true"` that is non-empty replaced by "REDACTED", for logging.
func Redacted[T any](v T) T {
	out := v
	redact(reflect.ValueOf(&out).Elem())
	return out
}

func redact(v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if f.Tag.Get("secret") == "true" && fv.Kind() == reflect.String && fv.String() != "" {
			fv.SetString("REDACTED")
			continue
		}
		redact(fv)
	}
}

var (
	durationType  = reflect.TypeFor[time.Duration]()            //nolint:gochecknoglobals // immutable
	unmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]() //nolint:gochecknoglobals // immutable
	stringsType   = reflect.TypeFor[[]string]()                 //nolint:gochecknoglobals // immutable
)

func isLeaf(v reflect.Value) bool {
	if reflect.PointerTo(v.Type()).Implements(unmarshalType) {
		return true
	}
	return v.Kind() != reflect.Struct
}

func walk(v reflect.Value, prefix []string, leaf func([]string, reflect.Value)) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := tagName(f)
		if name == "-" {
			continue
		}
		p := append(append([]string(nil), prefix...), name)
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && !isLeaf(fv) {
			walk(fv, p, leaf)
			continue
		}
		leaf(p, fv)
	}
}

func tagName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func fieldByTag(v reflect.Value, name string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if f.IsExported() && tagName(f) == name {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

func setText(v reflect.Value, s string) error {
	if v.CanAddr() {
		if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
			if err := u.UnmarshalText([]byte(s)); err != nil {
				return fmt.Errorf("parse %q: %w", s, err)
			}
			return nil
		}
	}
	if v.Type() == durationType {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("parse duration %q: %w", s, err)
		}
		v.SetInt(int64(d))
		return nil
	}
	if v.Type() == stringsType {
		var parts []string
		for p := range strings.SplitSeq(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("parse bool %q: %w", s, err)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 0, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("parse integer %q: %w", s, err)
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(s, 0, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("parse unsigned integer %q: %w", s, err)
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("parse number %q: %w", s, err)
		}
		v.SetFloat(n)
	default:
		return fmt.Errorf("type %s cannot be set from text: %w", v.Type(), ErrUnknownKey)
	}
	return nil
}
