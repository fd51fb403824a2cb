using System.Net;
using BertSharp.IO;

namespace BertSharp.Checkpoints;

// The one redirect loop of the client, for downloads and uploads alike. huggingface_hub's httpx client follows redirects
// itself (utils/_http.py default_client_factory, follow_redirects=True), keeping the method and body on 307/308 and dropping
// the token on another origin; HEAD of a resolve URL follows relative redirects only
// (_httpx_follow_relative_redirects_with_backoff), so that an LFS file's CDN redirect is the answer, not followed.
public sealed partial class HubClient
{
    /// <summary>Where a redirect may lead: the one thing in which the client's requests differ.</summary>
    private enum RedirectScope
    {
        /// <summary>
        /// HEAD of a resolve URL: a relative Location (a renamed repo) is followed; an absolute one (an LFS file's CDN URL)
        /// is the answer itself.
        /// </summary>
        Relative,

        /// <summary>A download's GET: any http(s) URL; the token goes only to the endpoint's host (<see cref="Authorize"/>).</summary>
        AnyHttp,

        /// <summary>
        /// An upload's request: from the endpoint's host to the same host only; elsewhere is refused, since the request
        /// carries the token and the model. A request to another host (storage) is not followed: its 3xx is its answer.
        /// </summary>
        Endpoint,
    }

    /// <summary>
    /// Sends the request <paramref name="request"/> makes for <paramref name="url"/> and, while the answer is a redirect that
    /// <paramref name="scope"/> follows, the same request to its Location, at most <see cref="MaxRedirects"/> times. A
    /// request with a body follows only 307 and 308, which keep the method and body (a 301, 302 or 303 would make it a GET);
    /// GET and HEAD follow any 3xx. <paramref name="request"/> makes each hop's request afresh (body, headers, and the token
    /// by <see cref="Authorize"/> for that URL). The final answer's URL is its <see cref="HttpResponseMessage.RequestMessage"/>'s.
    /// </summary>
    /// <param name="url">The first URL.</param>
    /// <param name="request">Makes the request for a URL.</param>
    /// <param name="send">Sends one request (its timeout and its errors' wording).</param>
    /// <param name="scope">Where a redirect may lead.</param>
    /// <param name="context">How errors begin (<c>upload to model 'org/x': preupload</c>); null: the URL that redirected.</param>
    private async Task<HttpResponseMessage> SendFollowingRedirectsAsync(Uri url, Func<Uri, HttpRequestMessage> request,
        Func<HttpRequestMessage, Task<HttpResponseMessage>> send, RedirectScope scope, string? context)
    {
        for (int hop = 0; ; hop++)
        {
            HttpResponseMessage resp;
            bool hasBody;
            using (var req = request(url))
            {
                hasBody = req.Content is not null;
                resp = await send(req).ConfigureAwait(false);
            }
            Uri? next;
            try
            {
                next = RedirectTarget(url, resp, hasBody, scope, context);
                if (next is not null && hop == MaxRedirects)
                {
                    throw new BertSharpException(Invariant($"{context ?? url.ToString()}: redirected more than {MaxRedirects} times (a redirect loop?); refused."));
                }
            }
            catch
            {
                resp.Dispose();
                throw;
            }
            if (next is null)
            {
                return resp;
            }
            resp.Dispose();
            url = next;
        }
    }

    /// <summary>Where <paramref name="resp"/> sends the request next under <paramref name="scope"/>; null: it is the answer.</summary>
    private Uri? RedirectTarget(Uri from, HttpResponseMessage resp, bool hasBody, RedirectScope scope, string? context)
    {
        int status = (int)resp.StatusCode;
        bool keepsBody = resp.StatusCode is HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;
        if (status is < 300 or >= 400 || resp.Headers.Location is not { } loc || (hasBody && !keepsBody))
        {
            return null;
        }
        var target = loc.IsAbsoluteUri ? loc : new Uri(from, loc);
        switch (scope)
        {
            case RedirectScope.Relative:
                return loc.IsAbsoluteUri ? null : target;
            case RedirectScope.AnyHttp:
                return CheckRedirect(from, target, context);
            default:
                var endpoint = new Uri(_options.ResolvedEndpoint);
                if (!SameServer(from, endpoint))
                {
                    return null;
                }
                return SameServer(target, endpoint) ? target : throw new BertSharpException(
                    $"{context ?? from.ToString()}: the Hub redirected to {SafeText.Escape(target.GetLeftPart(UriPartial.Authority))}, another host; refused (the token goes only to {_options.ResolvedEndpoint}).");
        }
    }

    /// <summary>
    /// A redirect may only lead to another http(s) URL: a server (or a proxy) sending <c>file://</c> or another scheme must
    /// not make the client read local files or speak other protocols.
    /// </summary>
    private static Uri CheckRedirect(Uri from, Uri to, string? context = null)
    {
        if (to.Scheme != Uri.UriSchemeHttp && to.Scheme != Uri.UriSchemeHttps)
        {
            throw new BertSharpException($"{context ?? from.ToString()}: the server redirected to '{to}', which is not an http(s) URL; refused.");
        }
        return to;
    }
}
