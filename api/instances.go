package api

import "net/http"

// instances lists the karmagate processes sharing the database: each with
// its host, pid, version, start, last heartbeat (the database's clock) and
// whether it is alive (a heartbeat within models.InstanceStale).
func (s *Server) instances(w http.ResponseWriter, r *http.Request) error {
	if _, err := query(r); err != nil {
		return err
	}
	vs, err := s.store.Instances(r.Context())
	if err != nil {
		return err
	}
	alive := 0
	for _, v := range vs {
		if v.Alive {
			alive++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": vs, "alive": alive, "_links": map[string]any{"self": link("/api/v1/instances")}})
	return nil
}
