using System.Globalization;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// A culture such as a library package's host may run in, where the tests (InvariantGlobalization) cannot load de-DE: a comma
/// for the decimal point, a dot between thousands and U+2212 for the minus sign.
/// </summary>
internal static class HostCulture
{
    public static CultureInfo Foreign()
    {
        var c = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        c.NumberFormat.NumberDecimalSeparator = ",";
        c.NumberFormat.NumberGroupSeparator = ".";
        c.NumberFormat.NegativeSign = "\u2212";
        return c;
    }

    /// <summary>
    /// Runs <paramref name="body"/> on this thread in <see cref="Foreign"/>: the current culture is the thread's own, so tests
    /// beside it keep theirs.
    /// </summary>
    public static T Run<T>(Func<T> body)
    {
        var (culture, ui) = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = Foreign();
            return body();
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = (culture, ui);
        }
    }
}
