package mongostore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/ginusers/kit/ginusers"
)

func TestIsUnavailable(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"a server selection timeout", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}, true},
		{"a server selection error of a cancelled request", topology.ServerSelectionError{Wrapped: context.Canceled}, false},
		{"a network error", mongo.CommandError{Labels: []string{"NetworkError"}, Wrapped: io.EOF}, true},
		{"the client's operation timeout", fmt.Errorf("op: %w", context.DeadlineExceeded), true},
		{"maxTimeMS expired", mongo.CommandError{Code: 50, Name: "MaxTimeMSExpired"}, true},
		{"a cancelled context", fmt.Errorf("op: %w", context.Canceled), false},
		{"no document", mongo.ErrNoDocuments, false},
		{"a duplicate key", mongo.WriteException{WriteErrors: []mongo.WriteError{{Code: 11000}}}, false},
		{"not implemented", mongo.CommandError{Code: 238, Name: "NotImplemented"}, false},
		{"any other error", errors.New("boom"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := isUnavailable(tt.err); got != tt.want {
				t.Fatalf("isUnavailable(%v) = %v, want %v", tt.err, got, tt.want)
			}
			got := unavailable(tt.err)
			if !tt.want {
				if !reflect.DeepEqual(got, tt.err) {
					t.Fatalf("unavailable(%v) = %v, want the error unchanged", tt.err, got)
				}
				return
			}
			// Both the sentinel and the driver's error, as two %w.
			w, ok := got.(interface{ Unwrap() []error })
			if !ok || len(w.Unwrap()) != 2 || w.Unwrap()[0] != ginusers.ErrUnavailable || !reflect.DeepEqual(w.Unwrap()[1], tt.err) {
				t.Fatalf("unavailable(%v) = %#v, want it to wrap ginusers.ErrUnavailable and the driver's error", tt.err, got)
			}
			if !errors.Is(got, ginusers.ErrUnavailable) {
				t.Fatalf("errors.Is(unavailable(%v), ErrUnavailable) = false, want true", tt.err)
			}
		})
	}
}
