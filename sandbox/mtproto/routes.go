package mtproto

import (
	"context"

	"github.com/gotd/td/bin"
	"github.com/gotd/td/tg"
)

// buildRoutes lists every method the server answers.
func (s *Server) buildRoutes() map[uint32]route {
	r := map[uint32]route{}
	// Connection.
	handle(r, anyone, false, s.helpGetConfig)
	handle(r, anyone, false, s.helpGetNearestDC)
	handle(r, authorized, false, s.helpGetAppConfig)
	handle(r, authorized, false, s.updatesGetState)
	handle(r, authorized, false, s.updatesGetDifference)
	handle(r, authorized, false, s.channelsGetDifference)
	// Login.
	handle(r, anyone, false, s.authSendCode)
	handle(r, anyone, false, s.authSignIn)
	handle(r, passwordPending, false, s.accountGetPassword)
	handle(r, passwordPending, false, s.authCheckPassword)
	handle(r, authorized, false, s.authLogOut)
	handle(r, anyone, false, s.authExportLoginToken)
	handle(r, anyone, false, s.authImportLoginToken)
	handle(r, authorized, false, s.authAcceptLoginToken)
	// Users and contacts.
	handle(r, authorized, true, s.usersGetUsers)
	handle(r, authorized, true, s.usersGetFullUser)
	handle(r, authorized, true, s.contactsImportContacts)
	handle(r, authorized, true, s.contactsDeleteContacts)
	handle(r, authorized, true, s.contactsResolveUsername)
	handle(r, authorized, true, s.contactsResolvePhone)
	handle(r, authorized, true, s.contactsGetContacts)
	// Supergroups.
	handle(r, authorized, true, s.channelsCreateChannel)
	handle(r, authorized, true, s.channelsEditAdmin)
	handle(r, authorized, true, s.channelsInviteToChannel)
	handle(r, authorized, true, s.channelsEditBanned)
	handle(r, authorized, true, s.channelsGetParticipants)
	handle(r, authorized, true, s.channelsGetParticipant)
	handle(r, authorized, true, s.channelsGetChannels)
	handle(r, authorized, true, s.channelsGetFullChannel)
	handle(r, authorized, true, s.channelsLeaveChannel)
	handle(r, authorized, true, s.channelsEditTitle)
	handle(r, authorized, true, s.messagesEditChatAbout)
	handle(r, authorized, true, s.messagesExportChatInvite)
	handle(r, authorized, true, s.messagesImportChatInvite)
	handle(r, authorized, true, s.messagesGetDialogs)
	return r
}

func (s *Server) helpGetConfig(ctx context.Context, c *call, req *tg.HelpGetConfigRequest) (bin.Encoder, error) {
	now := s.w.Now()
	return &tg.Config{
		Date:                    unix(now),
		Expires:                 unix(now) + 3600,
		ThisDC:                  c.dc,
		DCOptions:               s.dcOptions(),
		ChatSizeMax:             200,
		MegagroupSizeMax:        s.w.Limits().MaxMembers,
		ForwardedCountMax:       100,
		OnlineUpdatePeriodMs:    210000,
		OfflineBlurTimeoutMs:    5000,
		OfflineIdleTimeoutMs:    30000,
		OnlineCloudTimeoutMs:    300000,
		NotifyCloudDelayMs:      30000,
		NotifyDefaultDelayMs:    1500,
		PushChatPeriodMs:        60000,
		PushChatLimit:           2,
		EditTimeLimit:           172800,
		RevokeTimeLimit:         2147483647,
		RevokePmTimeLimit:       2147483647,
		RatingEDecay:            2419200,
		StickersRecentLimit:     200,
		ChannelsReadMediaPeriod: 604800,
		CallReceiveTimeoutMs:    20000,
		CallRingTimeoutMs:       90000,
		CallConnectTimeoutMs:    30000,
		CallPacketTimeoutMs:     10000,
		MeURLPrefix:             "https://t.me/",
		CaptionLengthMax:        1024,
		MessageLengthMax:        4096,
		WebfileDCID:             c.dc,
	}, nil
}

func (s *Server) helpGetNearestDC(ctx context.Context, c *call, req *tg.HelpGetNearestDCRequest) (bin.Encoder, error) {
	return &tg.NearestDC{Country: "NL", ThisDC: c.dc, NearestDC: c.dc}, nil
}

// helpGetAppConfig publishes the limits a client reads, notably
// channels_limit_default (the per-account supergroup cap).
func (s *Server) helpGetAppConfig(ctx context.Context, c *call, req *tg.HelpGetAppConfigRequest) (bin.Encoder, error) {
	lim := s.w.Limits()
	num := func(k string, v int) tg.JSONObjectValue {
		return tg.JSONObjectValue{Key: k, Value: &tg.JSONNumber{Value: float64(v)}}
	}
	const hash = 1
	if req.Hash == hash {
		return &tg.HelpAppConfigNotModified{}, nil
	}
	return &tg.HelpAppConfig{Hash: hash, Config: &tg.JSONObject{Value: []tg.JSONObjectValue{
		num("channels_limit_default", lim.ChannelsPerAccount),
		num("channels_limit_premium", lim.ChannelsPerAccount),
		num("megagroup_size_max", lim.MaxMembers),
		num("chat_invite_links_per_minute", lim.InviteLinksPerMinPerChat),
	}}}, nil
}

// The sandbox keeps no common message box: the state never moves and
// differences are always empty. Channel updates carry their own pts.

func (s *Server) updatesGetState(ctx context.Context, c *call, req *tg.UpdatesGetStateRequest) (bin.Encoder, error) {
	return &tg.UpdatesState{Pts: 1, Qts: 0, Seq: 0, Date: unix(s.w.Now())}, nil
}

func (s *Server) updatesGetDifference(ctx context.Context, c *call, req *tg.UpdatesGetDifferenceRequest) (bin.Encoder, error) {
	return &tg.UpdatesDifferenceEmpty{Date: unix(s.w.Now()), Seq: 0}, nil
}
