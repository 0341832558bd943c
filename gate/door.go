package gate

import "go.yaml.in/yaml/v3"

// Door says what someone asking to join a chat meets (the door: rule key).
type Door string

// The door: choices.
const (
	// DoorSilent: the bot decides the join request at once, as it always
	// has (the default).
	DoorSilent Door = "silent"
	// DoorApp: where the bot is the chat's guard bot, someone who does not
	// qualify yet is first shown the Mini App (/app/join): where they
	// stand, what is missing, how to link; they are let in during that
	// visit once they qualify.
	DoorApp Door = "app"
)

func (p parser) door(v *yaml.Node, what string) (Door, error) {
	if v.Kind == yaml.ScalarNode {
		switch d := Door(v.Value); d {
		case DoorSilent, DoorApp:
			return d, nil
		}
	}
	return DoorSilent, p.errf(v, "%s must be silent or app, not %q", what, v.Value)
}
