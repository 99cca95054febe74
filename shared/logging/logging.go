// Package logging builds the root *slog.Logger of a binary from its config.
// Only a binary's run function calls it; everything else receives a logger.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Config selects the log level and output format.
type Config struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text (human-readable) or json (for log shippers).
	Format string `yaml:"format"`
}

// DefaultConfig logs at info as text.
func DefaultConfig() Config { return Config{Level: "info", Format: "text"} }

// ErrInvalid reports a level or format that is not one of the known values.
var ErrInvalid = errors.New("invalid logging setting")

// Validate names the bad key, prefixed by the section name the binary uses.
func (c Config) Validate() error {
	var errs []error
	if _, err := c.level(); err != nil {
		errs = append(errs, fmt.Errorf("log.level: %w", err))
	}
	if c.Format != "text" && c.Format != "json" {
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json: %w", c.Format, ErrInvalid))
	}
	return errors.Join(errs...)
}

func (c Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		return 0, fmt.Errorf("%q is not debug, info, warn or error: %w", c.Level, ErrInvalid)
	}
	return l, nil
}

// New returns a logger writing to w.
func New(c Config, w io.Writer) (*slog.Logger, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	lvl, _ := c.level()
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
