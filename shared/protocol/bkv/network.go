package bkv

// Node list (pairing) messages, command 0x0005 (§6.2, §7.2). The platform
// assigns each socket a number 1–250 and pairs it by its factory MAC (§1).

// Node is one entry of the node list: socket number and MAC (§6.2 "08 down").
type Node struct {
	Socket uint8
	MAC    MAC
}

// NodeList replaces the gateway's node list (sub-command 0x08 down):
// channel 1 byte (1–15, any value), then per socket: number 1, MAC 6.
type NodeList struct {
	Channel uint8
	Nodes   []Node
}

func (*NodeList) dir() Direction { return Down }

// SubCommand returns SubNodeList.
func (*NodeList) SubCommand() uint8 { return SubNodeList }

func (m *NodeList) decodeParams(c *cursor) {
	m.Channel = c.u8("channel")
	if c.err != nil || c.left()%7 != 0 {
		c.end("node list") // reports the partial entry
		return
	}
	if n := c.left() / 7; n > 0 {
		m.Nodes = make([]Node, n)
	}
	for i := range m.Nodes {
		m.Nodes[i].Socket = c.u8("socket")
		c.into("mac", m.Nodes[i].MAC[:])
	}
}

func (m *NodeList) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Channel)
	for _, n := range m.Nodes {
		dst = append(dst, n.Socket)
		dst = append(dst, n.MAC[:]...)
	}
	return dst, nil
}

// NodeListResult is the gateway's answer to NodeList (0x08 up): result 1.
type NodeListResult struct {
	Result Result
}

func (*NodeListResult) dir() Direction { return Up }

// SubCommand returns SubNodeList.
func (*NodeListResult) SubCommand() uint8 { return SubNodeList }

func (m *NodeListResult) decodeParams(c *cursor) { m.Result = Result(c.u8("result")) }

func (m *NodeListResult) appendParams(dst []byte) ([]byte, error) {
	return append(dst, byte(m.Result)), nil
}

// AddNode pairs one socket (0x09 down): socket number 1, MAC 6.
type AddNode struct {
	Socket uint8
	MAC    MAC
}

func (*AddNode) dir() Direction { return Down }

// SubCommand returns SubAddNode.
func (*AddNode) SubCommand() uint8 { return SubAddNode }

func (m *AddNode) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	c.into("mac", m.MAC[:])
}

func (m *AddNode) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket)
	return append(dst, m.MAC[:]...), nil
}

// AddNodeResult is the gateway's answer to AddNode (0x09 up): result 1
// (0 = failed, seen in seed tests).
type AddNodeResult struct {
	Result Result
}

func (*AddNodeResult) dir() Direction { return Up }

// SubCommand returns SubAddNode.
func (*AddNodeResult) SubCommand() uint8 { return SubAddNode }

func (m *AddNodeResult) decodeParams(c *cursor) { m.Result = Result(c.u8("result")) }

func (m *AddNodeResult) appendParams(dst []byte) ([]byte, error) {
	return append(dst, byte(m.Result)), nil
}

// DeleteNode removes one socket from the node list (0x0A down). The guide
// "omits" this command and the number comes from the seed code [S]; the
// layout (socket number 1, MAC 6, as for 0x09) is inferred [I] and must be
// confirmed with the vendor (§14).
type DeleteNode struct {
	Socket uint8
	MAC    MAC
}

func (*DeleteNode) dir() Direction { return Down }

// SubCommand returns SubDeleteNode.
func (*DeleteNode) SubCommand() uint8 { return SubDeleteNode }

func (m *DeleteNode) decodeParams(c *cursor) {
	m.Socket = c.u8("socket")
	c.into("mac", m.MAC[:])
}

func (m *DeleteNode) appendParams(dst []byte) ([]byte, error) {
	dst = append(dst, m.Socket)
	return append(dst, m.MAC[:]...), nil
}

// DeleteNodeResult is the gateway's answer to DeleteNode (0x0A up): result 1,
// by analogy with 0x08 and 0x09 [I].
type DeleteNodeResult struct {
	Result Result
}

func (*DeleteNodeResult) dir() Direction { return Up }

// SubCommand returns SubDeleteNode.
func (*DeleteNodeResult) SubCommand() uint8 { return SubDeleteNode }

func (m *DeleteNodeResult) decodeParams(c *cursor) { m.Result = Result(c.u8("result")) }

func (m *DeleteNodeResult) appendParams(dst []byte) ([]byte, error) {
	return append(dst, byte(m.Result)), nil
}
