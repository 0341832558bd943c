package dashboard

import "golang.org/x/crypto/bcrypt"

// SetCompareHook makes s call f each time it checks a password with bcrypt.
func SetCompareHook(s *Server, f func()) { s.creds.compared.Store(&f) }

// DummyCost is the bcrypt cost of the hash an unknown name is checked
// against.
func DummyCost(s *Server) int {
	c, _ := bcrypt.Cost(s.creds.dummy)
	return c
}

// ClientAddr is the client's address as the dashboard sees it.
var ClientAddr = clientAddr
