package postgres

import (
	"strconv"
	"strings"
)

// Where collects the conditions of a list query with numbered parameters,
// so that absent filters add no condition at all and each filter shape gets
// its own plan (and index). The zero value is empty and ready to use.
type Where struct {
	conds []string
	args  []any
}

// Add appends cond, whose "?" placeholders are replaced in order by $n
// parameters bound to vals.
func (w *Where) Add(cond string, vals ...any) {
	for _, v := range vals {
		w.args = append(w.args, v)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

// Param binds v as the next parameter and returns its placeholder ("$n"),
// for a LIMIT or anything after the conditions.
func (w *Where) Param(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
}

// SQL returns the conditions joined by AND ("TRUE" when there are none).
func (w *Where) SQL() string {
	if len(w.conds) == 0 {
		return "TRUE"
	}
	return strings.Join(w.conds, " AND ")
}

// Args returns the parameters, in placeholder order.
func (w *Where) Args() []any { return w.args }
