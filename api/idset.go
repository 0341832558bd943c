package api

import "hash/maphash"

// idSet remembers the member ids a bulk import met and the entry of each,
// compactly: the ids are appended to one byte arena and found through an
// open-addressing table of offsets into it. A million ids of ten bytes
// take about 24 MB, against some 70 MB for a map[string]int of them (a
// string header, an allocation and map overhead each).
type idSet struct {
	seed  maphash.Seed
	arena []byte   // per id: its entry (4 bytes), its length (1 byte), the id
	slots []uint32 // arena offset + 1 of an id, 0 when free
	n     int
}

func newIDSet() *idSet {
	return &idSet{seed: maphash.MakeSeed(), slots: make([]uint32, 1024)}
}

// add records id at entry; when id was met before, it returns the entry
// it had and false. ids are at most 255 bytes (CheckID allows 64).
func (s *idSet) add(id string, entry int) (int, bool) {
	if len(id) > 255 {
		panic("idSet: id longer than 255 bytes")
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := maphash.String(s.seed, id) & mask; ; i = (i + 1) & mask {
		off := s.slots[i]
		if off == 0 {
			s.slots[i] = uint32(len(s.arena)) + 1
			s.arena = append(s.arena, byte(entry>>24), byte(entry>>16), byte(entry>>8), byte(entry), byte(len(id)))
			s.arena = append(s.arena, id...)
			s.n++
			return entry, true
		}
		if got, at := s.at(off - 1); got == id {
			return at, false
		}
	}
}

// at returns the id stored at arena offset off, and its entry.
func (s *idSet) at(off uint32) (string, int) {
	a := s.arena[off:]
	entry := int(a[0])<<24 | int(a[1])<<16 | int(a[2])<<8 | int(a[3])
	return string(a[5 : 5+int(a[4])]), entry
}

// grow doubles the table and places every id again.
func (s *idSet) grow() {
	old := s.slots
	s.slots = make([]uint32, 2*len(old))
	mask := uint64(len(s.slots) - 1)
	for _, off := range old {
		if off == 0 {
			continue
		}
		id, _ := s.at(off - 1)
		i := maphash.String(s.seed, id) & mask
		for s.slots[i] != 0 {
			i = (i + 1) & mask
		}
		s.slots[i] = off
	}
}
