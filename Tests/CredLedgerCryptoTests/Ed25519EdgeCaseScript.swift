// Pure-Python edwards25519 math (no library) that builds the edge cases of docs/PROOFS.md "Ed25519 and SHA-512":
// each case is constructed on purpose, then its expected outcome is computed by an independent Python
// implementation of the verification rule (and, for the cofactored-only cases, the cofactored equation is
// checked to hold), so a case that does not test what its label says fails in Python first.
// Output: one line per case, `sig|label|pk|msg|sig|0 or 1` or `key|label|pk|||status`.
enum Ed25519EdgeCaseScript {
    static let source = #"""
import hashlib, random
p = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
d = -121665 * pow(121666, p - 2, p) % p
SQRT_M1 = pow(2, (p - 1) // 4, p)
def H(*parts): return hashlib.sha512(b"".join(parts)).digest()
def Hint(*parts): return int.from_bytes(H(*parts), "little")
O = (0, 1, 1, 0)
def add(P, Q):
    A = (P[1] - P[0]) * (Q[1] - Q[0]) % p; B = (P[1] + P[0]) * (Q[1] + Q[0]) % p
    C = 2 * P[3] * Q[3] * d % p; D = 2 * P[2] * Q[2] % p
    E, F, G, Hh = B - A, D - C, D + C, B + A
    return (E * F % p, G * Hh % p, F * G % p, E * Hh % p)
def mul(s, P):
    Q = O
    while s > 0:
        if s & 1: Q = add(Q, P)
        P = add(P, P); s >>= 1
    return Q
def neg(P): return ((-P[0]) % p, P[1], P[2], (-P[3]) % p)
def same(P, Q): return (P[0] * Q[2] - Q[0] * P[2]) % p == 0 and (P[1] * Q[2] - Q[1] * P[2]) % p == 0
def affine(x, y): return (x % p, y % p, 1, x * y % p)
def encode(P):
    zi = pow(P[2], p - 2, p); x = P[0] * zi % p; y = P[1] * zi % p
    return (y | ((x & 1) << 255)).to_bytes(32, "little")
def enc_raw(y, sign): return (y | (sign << 255)).to_bytes(32, "little")
def recover_x(y, sign):
    """x for y (any integer < 2^255, reduced mod p here), or None."""
    y %= p
    x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p) % p
    if x2 == 0: return None if sign else 0
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p != 0: x = x * SQRT_M1 % p
    if (x * x - x2) % p != 0: return None
    if x & 1 != sign: x = p - x
    return x
def decode_strict(b):
    n = int.from_bytes(b, "little"); y = n & (2**255 - 1); sign = n >> 255
    if y >= p: return "nonCanonicalEncoding"
    x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p) % p
    if x2 == 0 and sign: return "nonCanonicalEncoding"
    x = recover_x(y, sign)
    if x is None: return "notOnCurve"
    return affine(x, y)
def small(P): return same(mul(8, P), O)
def key_status(b):
    P = decode_strict(b)
    if isinstance(P, str): return P
    return "smallOrder" if small(P) else "ok"
def verify_strict(Ab, M, sig):
    if len(Ab) != 32 or len(sig) != 64: return 0
    if key_status(Ab) != "ok": return 0
    A = decode_strict(Ab); Rb = sig[:32]; S = int.from_bytes(sig[32:], "little")
    if S >= L: return 0
    if isinstance(decode_strict(Rb), str): return 0
    k = Hint(Rb, Ab, M) % L
    return int(encode(add(mul(S, B), neg(mul(k, A)))) == Rb)
def verify_cofactored(A, Rpoint, Rb, Ab, M, S):
    k = Hint(Rb, Ab, M) % L
    return same(mul(8, mul(S, B)), add(mul(8, Rpoint), mul(8, mul(k, A))))

By = 4 * pow(5, p - 2, p) % p
B = affine(recover_x(By, 0), By)
rng = random.Random(16)
seed = bytes(rng.randrange(256) for _ in range(32))
h = H(seed); a = int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254); prefix = h[32:]
A = mul(a, B); Ab = encode(A)
M = b"credledger edge cases"
r = Hint(prefix, M) % L; Rp = mul(r, B); Rb = encode(Rp)
S = (r + Hint(Rb, Ab, M) % L * a) % L
sig = Rb + S.to_bytes(32, "little")
out = []
def case(label, pk, msg, signature, expect):
    got = verify_strict(pk, msg, signature)
    assert got == expect, (label, got, expect)
    out.append(f"sig|{label}|{pk.hex()}|{msg.hex()}|{signature.hex()}|{expect}")
def keycase(label, pk, expect):
    assert key_status(pk) == expect, (label, key_status(pk), expect)
    out.append(f"key|{label}|{pk.hex()}|||{expect}")
def with_r(Rbytes, pk=Ab, scalar=a, nonce=0):
    """R ‖ S with S = nonce + k·a for the given R bytes: the equation a cofactorless verifier checks when R = [nonce]B."""
    k = Hint(Rbytes, pk, M) % L
    return Rbytes + ((nonce + k * scalar) % L).to_bytes(32, "little")

case("honest signature", Ab, M, sig, 1)
case("S + L", Ab, M, Rb + (S + L).to_bytes(32, "little"), 0)
case("S = L", Ab, M, Rb + L.to_bytes(32, "little"), 0)
case("S = 2^256 - 1", Ab, M, Rb + (2**256 - 1).to_bytes(32, "little"), 0)
case("S = L - 1 (canonical, wrong)", Ab, M, Rb + (L - 1).to_bytes(32, "little"), 0)

# The torsion subgroup: [L]P for a point P of order 8L has order 8 (or a divisor).
for y0 in range(2, 1000):
    x0 = recover_x(y0, 0)
    if x0 is None: continue
    T = mul(L, affine(x0, y0))
    if not same(mul(4, T), O): break
torsion = [mul(i, T) for i in range(8)]
encodings = [encode(P) for P in torsion]
assert len(set(encodings)) == 8
T2 = (0, p - 1, 1, 0)
assert any(same(P, T2) for P in torsion)
for i, P in enumerate(torsion):
    keycase(f"small-order point [{i}]T8 as key", encode(P), "smallOrder")
    if i != 0:
        case(f"small-order point [{i}]T8 as R", Ab, M, with_r(encode(P)), 0)
case("R = identity, S = k·a (cofactorless equation holds)", Ab, M, with_r(encode(O)), 1)
# The `cryptography` 48 hole: A = R = identity, S = 0 verifies any message there; the key is refused here.
keycase("A = identity (A = R = O, S = 0 forgery)", encode(O), "smallOrder")

# R + T: the cofactored equation holds, the cofactorless one cannot.
for label, Tpoint in [("R + T2 (order 2)", T2), ("R + T8 (order 8)", torsion[1])]:
    Rt = add(Rp, Tpoint); Rtb = encode(Rt)
    signature = with_r(Rtb, nonce=r)
    assert verify_cofactored(A, Rt, Rtb, Ab, M, int.from_bytes(signature[32:], "little"))
    case(f"honest key, {label}: cofactored-only", Ab, M, signature, 0)

# Mixed-order key A + T8: not small order, so accepted as a key; what verifies is decided by the rule.
Amixed = add(A, torsion[1]); Amb = encode(Amixed)
keycase("mixed-order key A + T8", Amb, "ok")
# [S]B - [k](A + T8) = R - [k]T8: equal to R exactly when 8 divides k. Take the first 2 such messages and 4 others.
accepted = rejected = 0
for n in range(1000):
    m = M + n.to_bytes(2, "little")
    k = Hint(Rb, Amb, m) % L
    expect = int(k % 8 == 0)
    if (accepted if expect else rejected) >= (2 if expect else 4): continue
    signature = Rb + ((r + k * a) % L).to_bytes(32, "little")
    case(f"mixed-order key, message {n} (k mod 8 = {k % 8})", Amb, m, signature, expect)
    accepted += expect; rejected += 1 - expect
assert accepted == 2 and rejected == 4

# y >= p: y + p for y = 0…18 (both sign bits), as keys and as R.
for y in range(19):
    for sign in (0, 1):
        b = enc_raw(y + p, sign)
        on = recover_x(y, 0) is not None
        keycase(f"y = p + {y}, sign {sign} ({'on' if on else 'off'} curve) as key", b, "nonCanonicalEncoding")
        case(f"y = p + {y}, sign {sign} as R", Ab, M, with_r(b), 0)
    canonical = recover_x(y, 0)
    if canonical is not None:
        status = key_status(enc_raw(y, 0))
        keycase(f"y = {y} (canonical spelling) as key", enc_raw(y, 0), status)
# x = 0 with the sign bit: y = 1 (identity) and y = p - 1 (order 2).
for y in (1, p - 1):
    b = enc_raw(y, 1)
    keycase(f"x = 0 with sign bit, y = {y if y == 1 else 'p - 1'} as key", b, "nonCanonicalEncoding")
    case(f"x = 0 with sign bit, y = {y if y == 1 else 'p - 1'} as R", Ab, M, with_r(b), 0)
# Off the curve.
off = [y for y in range(2, 200) if recover_x(y, 0) is None][:3]
for y in off:
    keycase(f"y = {y} off the curve as key", enc_raw(y, 0), "notOnCurve")
    case(f"y = {y} off the curve as R", Ab, M, with_r(enc_raw(y, 0)), 0)
print("\n".join(out))
"""#
}
