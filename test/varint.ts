/**
 * The Variable Byte Integer of MQTT (a packet's remaining length, a property list's length):
 * 7 bits a byte, least significant first, the top bit set while more follow (MQTT 5.0 §1.5.5,
 * 3.1.1 §2.2.3). Written here for tests that build frames by hand, apart from the encoders
 * they test.
 */
export function varint(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}
