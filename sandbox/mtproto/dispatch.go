package mtproto

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/mt"
	"github.com/gotd/td/tg"
	"github.com/gotd/td/tgerr"
	"github.com/gotd/td/tgtest"

	"github.com/karmagate/karmagate/sandbox/world"
)

// access is what a method requires of the caller's auth key.
type access int

const (
	// anyone may call: connection setup, login.
	anyone access = iota
	// passwordPending: the caller passed the code and owes the 2FA password.
	passwordPending
	// authorized: a logged-in user.
	authorized
)

// route is one RPC method.
type route struct {
	method string
	access access
	// faults: injected faults apply to this method.
	faults bool
	serve  func(ctx context.Context, c *call, b *bin.Buffer) (bin.Encoder, any, error)
}

// call is one request in flight.
type call struct {
	dc     int // the data center the request came to
	req    *tgtest.Request
	auth   [8]byte
	userID int64 // the authorized (or 2FA-pending) user, 0 if none
	method string
}

// handle registers fn for the request type of P.
func handle[T any, P interface {
	*T
	bin.Decoder
	TypeID() uint32
	TypeName() string
}](routes map[uint32]route, acc access, faults bool, fn func(ctx context.Context, c *call, req P) (bin.Encoder, error)) {
	var zero T
	p := P(&zero)
	routes[p.TypeID()] = route{
		method: p.TypeName(),
		access: acc,
		faults: faults,
		serve: func(ctx context.Context, c *call, b *bin.Buffer) (bin.Encoder, any, error) {
			req := P(new(T))
			if err := req.Decode(b); err != nil {
				return nil, nil, rpcError(400, "INPUT_REQUEST_INVALID")
			}
			res, err := fn(ctx, c, req)
			return res, req, err
		},
	}
}

// onMessage is the tgtest handler: it unwraps invokeWithLayer,
// initConnection and invokeWithoutUpdates, then dispatches by type id.
func (s *Server) onMessage(dc int, srv *tgtest.Server, req *tgtest.Request) error {
	if id, err := req.Buf.PeekID(); err == nil && !serviceMessage(id) {
		// Acknowledge at once, as Telegram does: clients resend requests
		// that stay unacknowledged, and slow methods (2FA's KDF) would
		// otherwise run twice.
		if err := srv.SendAck(req.RequestCtx, req.Session, req.MsgID); err != nil {
			return fmt.Errorf("ack: %w", err)
		}
	}
	for {
		id, err := req.Buf.PeekID()
		if err != nil {
			return fmt.Errorf("peek id: %w", err)
		}
		var inner peekObject
		switch id {
		case tg.InvokeWithLayerRequestTypeID:
			r := tg.InvokeWithLayerRequest{Query: &inner}
			if err := r.Decode(req.Buf); err != nil {
				return s.reply(srv, req, nil, rpcError(400, "INPUT_REQUEST_INVALID"))
			}
			if r.Layer != tg.Layer {
				// Answers are encoded in gotd's layer only: a client of
				// another layer could not decode them.
				s.log.Warn("mtproto: client layer refused: the sandbox speaks only gotd's layer", "client_layer", r.Layer, "layer", tg.Layer)
				return s.reply(srv, req, nil, layerInvalid())
			}
			continue
		case tg.InitConnectionRequestTypeID:
			r := tg.InitConnectionRequest{Query: &inner}
			if err := r.Decode(req.Buf); err != nil {
				return s.reply(srv, req, nil, rpcError(400, "INPUT_REQUEST_INVALID"))
			}
			s.account(req.Session.AuthKey.ID, func(a *account) { a.apiID = r.APIID })
			continue
		case tg.InvokeWithoutUpdatesRequestTypeID:
			r := tg.InvokeWithoutUpdatesRequest{Query: &inner}
			if err := r.Decode(req.Buf); err != nil {
				return s.reply(srv, req, nil, rpcError(400, "INPUT_REQUEST_INVALID"))
			}
			continue
		case mt.MsgsAckTypeID, mt.MsgsStateReqTypeID, mt.MsgResendReqTypeID:
			return nil // service messages needing no answer here
		case mt.DestroySessionRequestTypeID:
			var r mt.DestroySessionRequest
			if err := r.Decode(req.Buf); err != nil {
				return nil
			}
			return srv.SendResult(req, &mt.DestroySessionOk{SessionID: r.SessionID})
		}
		return s.dispatch(dc, srv, req, id)
	}
}

func (s *Server) dispatch(dc int, srv *tgtest.Server, req *tgtest.Request, id uint32) error {
	ctx := req.RequestCtx
	rt, ok := s.routes[id]
	if !ok {
		s.log.Debug("mtproto: method not implemented", "type_id", fmt.Sprintf("%#x", id))
		return s.reply(srv, req, nil, rpcError(400, "INPUT_METHOD_INVALID"))
	}
	c := &call{dc: dc, req: req, auth: req.Session.AuthKey.ID, method: rt.method}
	if s.duplicated(c.auth, req.Session.ID) {
		s.log.Info("mtproto: auth key used from two places at once; its authorization is over", "dc", dc)
		return s.finish(srv, req, c, nil, nil, rpcError(406, "AUTH_KEY_DUPLICATED"), "")
	}
	acc := s.accountCopy(c.auth)
	switch {
	case acc.userID != 0:
		c.userID = acc.userID
		s.trackSession(dc, acc.userID, req.Session)
	case acc.pending2FA != 0 && rt.access <= passwordPending:
		c.userID = acc.pending2FA
	case rt.access == authorized && acc.pending2FA != 0:
		return s.finish(srv, req, c, nil, nil, rpcError(401, "SESSION_PASSWORD_NEEDED"), "")
	case rt.access != anyone && acc.revoked:
		return s.finish(srv, req, c, nil, nil, rpcError(401, "SESSION_REVOKED"), "")
	case rt.access != anyone:
		return s.finish(srv, req, c, nil, nil, rpcError(401, "AUTH_KEY_UNREGISTERED"), "")
	}

	if c.userID != 0 {
		if u, ok := s.w.User(c.userID); ok && u.Banned {
			return s.finish(srv, req, c, nil, nil, rpcError(401, "USER_DEACTIVATED_BAN"), "")
		}
	}
	if c.userID != 0 && rt.access == authorized && !allowedFrozen[rt.method] && s.isFrozen(c.userID) {
		return s.finish(srv, req, c, nil, nil, rpcError(420, "FROZEN_METHOD_INVALID"), "")
	}
	if c.userID != 0 && restrictedMethods[rt.method] {
		if u, ok := s.w.User(c.userID); ok && u.Restricted {
			return s.finish(srv, req, c, nil, nil, rpcError(400, "USER_RESTRICTED"), "")
		}
	}
	if rt.faults {
		switch f := s.w.Fault(); f {
		case "":
		case world.FaultDrop:
			s.log.Debug("mtproto: fault: dropping connection", "method", rt.method)
			s.recordCall(c, nil, nil, errors.New("connection dropped"), f)
			srv.ForceDisconnect(req.Session)
			return nil
		case world.FaultTimeout:
			// Telegram answers -503 "Timeout" when a backend did not
			// answer in time; the call was not carried out here.
			return s.finish(srv, req, c, nil, nil, rpcError(-503, "Timeout"), f)
		case world.FaultTooMany:
			return s.finish(srv, req, c, nil, nil, rpcError(420, "FLOOD_WAIT_1"), f)
		default:
			return s.finish(srv, req, c, nil, nil, rpcError(500, "INTERNAL"), f)
		}
	}
	if c.userID != 0 && rt.access == authorized {
		if wait := s.floodWaitFor(rt.method, c.userID); wait > 0 {
			return s.finish(srv, req, c, nil, nil, world.TooManyRequests(wait), "")
		}
	}
	res, params, err := s.serve(ctx, rt, c, req)
	return s.finish(srv, req, c, params, res, err, "")
}

// serve runs the method, turning a panic into INTERNAL so that one bad
// request cannot take the server down.
func (s *Server) serve(ctx context.Context, rt route, c *call, req *tgtest.Request) (res bin.Encoder, params any, err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("mtproto: handler panic", "method", rt.method, "panic", r)
			res, err = nil, rpcError(500, "INTERNAL")
		}
	}()
	return rt.serve(ctx, c, req.Buf)
}

// finish answers the call and records it: in that order, because encoding
// writes the objects' flags fields and the call log may be read at once.
func (s *Server) finish(srv *tgtest.Server, req *tgtest.Request, c *call, params any, res bin.Encoder, err error, fault string) error {
	replyErr := s.reply(srv, req, res, err)
	s.recordCall(c, params, res, err, fault)
	return replyErr
}

func (s *Server) recordCall(c *call, params any, res bin.Encoder, err error, fault string) {
	rc := world.Call{API: "mtproto", Account: c.userID, Method: c.method, Params: params, Fault: fault}
	if err != nil {
		rc.Error = toRPC(err).Message
	} else if res != nil {
		rc.Result = res
	}
	s.w.RecordCall(rc)
}

// reply sends res, or err as an rpc_error.
func (s *Server) reply(srv *tgtest.Server, req *tgtest.Request, res bin.Encoder, err error) error {
	if err != nil {
		e := toRPC(err)
		if e.Code == 500 {
			s.log.Debug("mtproto: internal error", "err", err)
		}
		return srv.SendErr(req, e)
	}
	if res == nil {
		return srv.SendBool(req, true)
	}
	if err := srv.SendResult(req, res); err != nil {
		return fmt.Errorf("send result: %w", err)
	}
	return nil
}

// layerInvalid refuses a client that declares a layer other than gotd's
// (tg.Layer): 400 LAYER_INVALID_<layer>, the number naming the one layer
// the sandbox speaks (tgerr reads it as the error's Argument).
func layerInvalid() error { return rpcError(400, fmt.Sprintf("LAYER_INVALID_%d", tg.Layer)) }

// rpcError is a Telegram RPC error, e.g. rpcError(400, "CHANNEL_INVALID").
func rpcError(code int, msg string) error { return tgerr.New(code, msg) }

// toRPC maps an error to the RPC error the client sees: world errors by
// their MTProto type, anything else as INTERNAL.
func toRPC(err error) *tgerr.Error {
	var te *tgerr.Error
	if errors.As(err, &te) {
		return te
	}
	var we *world.Error
	if errors.As(err, &we) {
		if we.RPC == "FLOOD_WAIT" {
			return tgerr.New(420, "FLOOD_WAIT_"+strconv.Itoa(max(1, we.RetryAfterSeconds())))
		}
		rpc := strings.ToUpper(we.RPC)
		if rpc == "" {
			rpc = "INTERNAL"
		}
		return tgerr.New(we.MTProtoCode(), rpc)
	}
	return tgerr.New(500, "INTERNAL")
}

// account runs fn on the auth key's account, creating it if needed.
func (s *Server) account(id [8]byte, fn func(a *account)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[id]
	if !ok {
		a = &account{}
		s.accounts[id] = a
	}
	fn(a)
}

func (s *Server) accountCopy(id [8]byte) account {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.accounts[id]; ok {
		return *a
	}
	return account{}
}

// serviceMessage reports MTProto service messages that get no ack.
func serviceMessage(id uint32) bool {
	switch id {
	case mt.MsgsAckTypeID, mt.MsgsStateReqTypeID, mt.MsgResendReqTypeID,
		mt.PingRequestTypeID, mt.PingDelayDisconnectRequestTypeID:
		return true
	}
	return false
}

// peekObject decodes nothing: it lets an invoke wrapper's Decode stop at
// the start of the wrapped query.
type peekObject struct{}

func (peekObject) Decode(b *bin.Buffer) error {
	_, err := b.PeekID()
	return err
}

func (peekObject) Encode(*bin.Buffer) error { return errors.New("peekObject is decode-only") }

// floodWait is FLOOD_WAIT_X with X the wait rounded up to seconds.
func floodWait(wait time.Duration) error { return world.TooManyRequests(wait) }

// floodWaitFor is how long the account must wait before calling method:
// zero to go ahead (the call is then counted).
func (s *Server) floodWaitFor(method string, userID int64) time.Duration {
	if s.floodWait == nil {
		return s.w.FloodWait(method, userID)
	}
	min, ok := s.floodWait[method]
	if !ok || min <= 0 {
		return 0
	}
	key := method + ":" + strconv.FormatInt(userID, 10)
	now := s.w.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if last, ok := s.lastCall[key]; ok {
		if wait := last.Add(min).Sub(now); wait > 0 {
			return wait
		}
	}
	s.lastCall[key] = now
	return 0
}
