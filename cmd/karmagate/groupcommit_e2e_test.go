package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestE2E_GroupCommitCrash: concurrent PUTs share a transaction (group
// commit); the process kills itself (SIGKILL) right after sending the
// first answer. Every PUT answered 200 or 201 is found after the restart,
// with what it put: each answer came after its shared commit.
func TestE2E_GroupCommitCrash(t *testing.T) {
	e := newE2E(t, false)
	e.serve("KARMAGATE_FAILPOINT=kill-after-write")
	const n = 16
	var (
		mu       sync.Mutex
		answered = map[string]int64{} // member id → karma put
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, karma := fmt.Sprintf("crash-%02d", i), int64(100+i)
			body := fmt.Sprintf(`{"karma": %d, "groups": ["webmasters"]}`, karma)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "PUT", "http://"+e.listen+"/api/v1/members/"+id, bytes.NewBufferString(body))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.vars["KARMAGATE_API_KEY"])
			<-start
			res, err := client.Do(req)
			if err != nil {
				return // the process died before answering: either way is right
			}
			res.Body.Close()
			if res.StatusCode == http.StatusOK || res.StatusCode == http.StatusCreated {
				mu.Lock()
				answered[id] = karma
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	e.waitExit()
	if len(answered) == 0 {
		t.Fatalf("no PUT was answered before the kill\n%s", e.logs.String())
	}
	t.Logf("%d of %d PUTs answered before the kill", len(answered), n)
	e.serve()
	stored := 0
	for i := range n {
		if e.api("GET", fmt.Sprintf("/api/v1/members/crash-%02d", i), nil, nil) == http.StatusOK {
			stored++
		}
	}
	// More stored than answered: the batch that was answered first carried
	// others, committed with it, whose answers the kill cut off.
	t.Logf("%d of %d PUTs stored after the restart", stored, n)
	for id, karma := range answered {
		var got struct {
			Karma int64 `json:"karma"`
		}
		if code := e.api("GET", "/api/v1/members/"+id, nil, &got); code != http.StatusOK {
			t.Errorf("member %s, answered before the kill: GET %d after the restart", id, code)
			continue
		}
		if got.Karma != karma {
			t.Errorf("member %s: karma %d after the restart, want %d", id, got.Karma, karma)
		}
	}
}
