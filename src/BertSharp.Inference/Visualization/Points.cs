
namespace BertSharp.Visualization;

/// <summary>Checks of the point sets the projections take.</summary>
internal static class Points
{
    /// <summary>The points' common dimension (at least 1); otherwise an error naming the first point that differs.</summary>
    public static int CheckSameDimension(IReadOnlyList<float[]> points, string method)
    {
        var dim = points[0]?.Length ?? throw new BertSharpException($"{method}: point 0 is null.");
        if (dim == 0)
        {
            throw new BertSharpException($"{method}: point 0 has no coordinates; expected at least 1.");
        }
        for (var i = 1; i < points.Count; i++)
        {
            var length = points[i]?.Length ?? throw new BertSharpException(Invariant($"{method}: point {i} is null."));
            if (length != dim)
            {
                throw new BertSharpException(Invariant($"{method}: point {i} has {length} coordinate(s), point 0 has {dim}; every point must have the same dimension."));
            }
        }
        return dim;
    }
}
