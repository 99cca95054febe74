package fleet

import "errors"

// Errors the site and registry stores return for conditions callers branch
// on. The text of an error wrapping one of them names only ids the caller
// gave, so cloud/api shows it to clients as is.
var (
	// ErrNotFound: no such site, edge or charger in the tenant. A resource
	// of another tenant is not found either.
	ErrNotFound = errors.New("not found")
	// ErrAlreadyExists: the site id is taken in the tenant.
	ErrAlreadyExists = errors.New("already exists")
	// ErrPrecondition: the change cannot be made in the current state (a
	// site with edges or chargers attached, accepting a charger whose
	// reported protocol the registry does not know).
	ErrPrecondition = errors.New("failed precondition")
)

// InvalidError reports a value that breaks a rule of this package. Its text
// names the field and says what is expected; it is written for clients.
type InvalidError struct {
	Field  string
	Reason string
}

// Error returns "field: reason".
func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }
