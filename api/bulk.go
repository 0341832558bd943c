package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/karmagate/karmagate/gate"
	"github.com/karmagate/karmagate/models"
)

// MaxBulkMembers bounds one bulk call.
const MaxBulkMembers = 200_000

// maxListedErrors bounds the errors a bulk problem lists.
const maxListedErrors = 100

func (s *Server) bulk(w http.ResponseWriter, r *http.Request) error {
	kind, body, err := readBody(w, r, MaxBulkBody, bodyJSON, bodyNDJSON)
	if err != nil {
		return err
	}
	// Split the body into items first (cheap), then decode and validate the
	// items on every core: for 100,000 members that is a good part of the
	// call, and the database is idle meanwhile.
	var items []json.RawMessage
	var lines []int // NDJSON: the line of each item
	if kind == bodyJSON {
		if err := json.Unmarshal(body, &items); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field == "" {
				return problem(http.StatusBadRequest, "malformed-json", "the body must be a JSON array of members")
			}
			return malformedJSON(body, err)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 64<<10), MaxBody)
		line := 0
		for sc.Scan() {
			line++
			if b := bytes.TrimSpace(sc.Bytes()); len(b) > 0 {
				items = append(items, json.RawMessage(bytes.Clone(b)))
				lines = append(lines, line)
			}
		}
		if err := sc.Err(); err != nil {
			return problem(http.StatusBadRequest, "malformed-ndjson", fmt.Sprintf("line %d: %v", line+1, err))
		}
	}
	if len(items) == 0 {
		return problem(http.StatusBadRequest, "empty-bulk", "the body holds no members")
	}
	if len(items) > MaxBulkMembers {
		return problem(http.StatusRequestEntityTooLarge, "too-many-members", fmt.Sprintf("%d members; at most %d per call", len(items), MaxBulkMembers))
	}

	ins := make([]models.MemberInput, len(items))
	errs := make([]error, len(items))
	rules := s.store.Rules()
	parallel(len(items), func(i int) {
		errs[i] = decodeBulkItem(items[i], &ins[i], rules)
	})
	var bad []ItemError
	seen := make(map[string]int, len(items))
	for i, err := range errs {
		if err != nil {
			var p *Problem
			if errors.As(err, &p) && lines != nil { // a malformed NDJSON line
				p.Detail = fmt.Sprintf("line %d: %s", lines[i], p.Detail)
				return p
			}
			bad = append(bad, itemError(i, ins[i].ID, err))
			continue
		}
		id := ins[i].ID
		if j, dup := seen[id]; dup {
			bad = append(bad, ItemError{Index: i, ID: id, Field: "id", Detail: fmt.Sprintf("id %q repeats entry %d", id, j)})
			continue
		}
		seen[id] = i
	}
	if len(bad) > 0 {
		p := problem(http.StatusUnprocessableEntity, "invalid-members",
			fmt.Sprintf("%d of %d members are invalid; nothing was written", len(bad), len(items)))
		if len(bad) > maxListedErrors {
			bad = bad[:maxListedErrors]
		}
		p.Errors = bad
		return p
	}
	res, err := s.store.PutMembers(writeContext(r), ins, actor(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"received": len(ins), "created": res.Created, "updated": res.Updated, "unchanged": res.Unchanged,
		"actions_queued": res.Actions,
		"_links":         map[string]any{"events": link("/api/v1/events")},
	})
	return nil
}

// decodeBulkItem reads and normalizes one member of a bulk call.
func decodeBulkItem(raw json.RawMessage, in *models.MemberInput, rules *gate.Rules) error {
	obj, err := jsonObject(raw)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(obj["id"], &in.ID); err != nil || obj["id"] == nil {
		return &models.InputError{Field: "id", Detail: "each member needs an \"id\" string"}
	}
	if err := memberFromJSON(obj, in); err != nil {
		return err
	}
	return in.Normalize(rules)
}

// parallel runs fn(0..n-1) on every core.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), max(n/1000, 1))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func itemError(i int, id string, err error) ItemError {
	var ie *models.InputError
	if errors.As(err, &ie) {
		return ItemError{Index: i, ID: id, Field: ie.Field, Detail: ie.Detail}
	}
	return ItemError{Index: i, ID: id, Detail: err.Error()}
}
