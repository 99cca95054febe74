package ap3000_test

import (
	"encoding/hex"
	"fmt"

	"github.com/chargeplane/chargeplane/shared/protocol/ap3000"
)

func ExampleDecode() {
	// A 0x21 heartbeat from the vendor guide (ap3000.md §7.1): 220.0 V,
	// two idle ports, signal 9, temperature byte 5.
	frame, _ := hex.DecodeString("444e5910003b37ab0401002198080200000905ee02")

	f, err := ap3000.Decode(frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	hb := f.Body.(*ap3000.Heartbeat)
	fmt.Printf("device %d (code %02x), message %d, command %v\n",
		f.PhysicalID.DeviceNumber(), f.PhysicalID.DeviceCode(), f.MessageID, f.Command)
	fmt.Printf("voltage %.1f V, ports %v, signal %d\n", float64(hb.Voltage)/10, hb.Ports, hb.Signal)

	// The server answers 0x21 with the same message id (ap3000.md §4, §9).
	reply, _ := ap3000.Append(nil, &ap3000.Frame{
		PhysicalID: f.PhysicalID, MessageID: f.MessageID, Body: &ap3000.HeartbeatReply{},
	})
	fmt.Println(hex.EncodeToString(reply))
	// Output:
	// device 11220795 (code 04), message 1, command 0x21
	// voltage 220.0 V, ports [idle idle], signal 9
	// 444e590a003b37ab04010021003802
}
