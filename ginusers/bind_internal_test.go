package ginusers

import (
	"reflect"
	"slices"
	"testing"
)

// TestFieldsOfNamesFieldsAsEncodingJSONDoes: `json:"-"` leaves a field
// out, `json:"-,"` names it "-" (and it can hold no null).
func TestFieldsOfNamesFieldsAsEncodingJSONDoes(t *testing.T) {
	type dashed struct {
		Hidden string `json:"-"`
		Dash   string `json:"-,"`
	}
	fi := fieldsOf(reflect.TypeFor[dashed]())
	if !slices.Equal(fi.names, []string{"-"}) || !fi.notNull["-"] || fi.goToJSON["Dash"] != "-" {
		t.Fatalf("fieldsOf(%T) = names %q, notNull %v, goToJSON %v; want the field named \"-\"", dashed{}, fi.names, fi.notNull, fi.goToJSON)
	}
}
