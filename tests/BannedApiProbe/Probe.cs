using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.BannedApiProbe;

// Each statement is one case: "banned" lines must fail the build with RS0030 (build/BannedSymbols.txt), "allowed" lines
// must not. One statement per line, so that a diagnostic's line names its case.
internal static class Probe
{
    private static readonly Scalar Half = 0.5.ToScalar();
    private static readonly Scalar One = 1.ToScalar();
    private static readonly Scalar Zero = 0L.ToScalar();
    private static readonly Scalar Ten = 10L.ToScalar();

    public static void Cases(Tensor t, Tensor u, double x, long n)
    {
        _ = t.mul(0.5); // banned: an implicit Scalar from a literal
        _ = t.mul(x); // banned: an implicit Scalar from a variable
        _ = t.ne(n); // banned: an implicit integer Scalar
        _ = t.fill_(1.5f); // banned: an implicit float Scalar
        _ = t.eq(true); // banned: an implicit bool Scalar
        _ = t + u; // banned: operator + makes add's alpha
        _ = t * 2.0; // banned: a number operand
        _ = t / 3; // banned: a number operand
        _ = t - 1L; // banned: a number operand
        _ = 1.0 - t; // banned: a number operand
        _ = t % 3; // banned: a number operand
        _ = t.add(u); // banned: alpha = 1 made inside
        _ = t.add_(u); // banned: alpha = 1 made inside
        _ = t.add(Half); // banned: alpha = 1 made inside
        _ = t.addcdiv(t, u); // banned: value = 1 made inside
        _ = torch.add(t, u); // banned: alpha = 1 made inside
        _ = arange(Ten, ScalarType.Int64); // banned: start and step made inside
        _ = arange(Zero, Ten, ScalarType.Int64); // banned: step made inside
        _ = t.square(); // banned: pow(2) made inside
        _ = torch.square(t); // banned: pow(2) made inside
        _ = torch.add_(t, u); // banned: alpha = 1 made inside
        _ = t.celu(); // banned: alpha made inside
        _ = t.elu(1.0); // banned: scales made inside
        _ = torch.linalg.vector_norm(t, 2.0); // banned: ord made inside
        _ = t.ToDouble(); // banned: read through a temporary Scalar
        _ = t.mul(Half); // allowed: a Scalar that lives as long as the class
        _ = t.add(u, One); // allowed: alpha given
        _ = t.add_(Half, One); // allowed: alpha given
        _ = t.mul(u).sub(u).div(u); // allowed: tensor operands
        _ = t * u; // allowed: tensor operands
        _ = arange(Zero, Ten, One, ScalarType.Int64); // allowed: every Scalar given
        _ = t.norm(); // allowed: the order passed as a number
        _ = t.item<double>(); // allowed: read without a Scalar
        using var s = x.ToScalar();
        _ = t.mul(s); // allowed: a Scalar disposed after the call
    }
}
