package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

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
	var objs []map[string]json.RawMessage
	if kind == bodyJSON {
		if err := json.Unmarshal(body, &objs); err != nil {
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
			b := bytes.TrimSpace(sc.Bytes())
			if len(b) == 0 {
				continue
			}
			obj, err := jsonObject(b)
			if err != nil {
				var p *Problem
				errors.As(err, &p)
				p.Detail = fmt.Sprintf("line %d: %s", line, p.Detail)
				return p
			}
			objs = append(objs, obj)
		}
		if err := sc.Err(); err != nil {
			return problem(http.StatusBadRequest, "malformed-ndjson", fmt.Sprintf("line %d: %v", line+1, err))
		}
	}
	if len(objs) == 0 {
		return problem(http.StatusBadRequest, "empty-bulk", "the body holds no members")
	}
	if len(objs) > MaxBulkMembers {
		return problem(http.StatusRequestEntityTooLarge, "too-many-members", fmt.Sprintf("%d members; at most %d per call", len(objs), MaxBulkMembers))
	}

	ins := make([]models.MemberInput, len(objs))
	var bad []ItemError
	seen := make(map[string]int, len(objs))
	rules := s.store.Rules()
	for i, obj := range objs {
		var id string
		if err := json.Unmarshal(obj["id"], &id); err != nil || obj["id"] == nil {
			bad = append(bad, ItemError{Index: i, Field: "id", Detail: "each member needs an \"id\" string"})
			continue
		}
		ins[i].ID = id
		if err := memberFromJSON(obj, &ins[i]); err != nil {
			bad = append(bad, itemError(i, id, err))
			continue
		}
		if err := ins[i].Normalize(rules); err != nil {
			bad = append(bad, itemError(i, id, err))
			continue
		}
		if j, dup := seen[id]; dup {
			bad = append(bad, ItemError{Index: i, ID: id, Field: "id", Detail: fmt.Sprintf("id %q repeats entry %d", id, j)})
			continue
		}
		seen[id] = i
	}
	if len(bad) > 0 {
		p := problem(http.StatusUnprocessableEntity, "invalid-members",
			fmt.Sprintf("%d of %d members are invalid; nothing was written", len(bad), len(objs)))
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

func itemError(i int, id string, err error) ItemError {
	var ie *models.InputError
	if errors.As(err, &ie) {
		return ItemError{Index: i, ID: id, Field: ie.Field, Detail: ie.Detail}
	}
	return ItemError{Index: i, ID: id, Detail: err.Error()}
}
