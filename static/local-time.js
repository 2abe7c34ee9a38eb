// The viewer's clock beside the therapist's (progressive enhancement: pages say every time on
// the therapist's clock with its zone named; without script nothing more is shown).
//
// <span class="viewer-time" data-at="RFC 3339" data-zone="America/New_York" hidden></span>
//   becomes " (Mon 15:00 your time)" when the browser's zone differs from data-zone.
// <span class="viewer-zone" data-zone="America/New_York" hidden></span>
//   becomes " Your clock (Europe/Paris) is 6 hours ahead." on the same condition.
(function () {
  "use strict";
  var mine;
  try {
    mine = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!mine) return;

  // Minutes east of UTC of `zone` at instant `at` (a Date).
  function offset(at, zone) {
    var parts = {};
    new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit"
    }).formatToParts(at).forEach(function (p) { parts[p.type] = p.value; });
    var wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute);
    return Math.round((wall - Math.floor(at.getTime() / 60000) * 60000) / 60000);
  }

  function differs(zone, at) {
    try {
      return zone && zone !== mine && offset(at, zone) !== offset(at, mine);
    } catch (e) {
      return false; // a zone this browser does not know
    }
  }

  document.querySelectorAll(".viewer-time[data-at][data-zone]").forEach(function (el) {
    var at = new Date(el.getAttribute("data-at"));
    if (isNaN(at.getTime()) || !differs(el.getAttribute("data-zone"), at)) return;
    var text = new Intl.DateTimeFormat(undefined, {
      weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: mine
    }).format(at);
    el.textContent = " (" + text + " your time)";
    el.hidden = false;
  });

  document.querySelectorAll(".viewer-zone[data-zone]").forEach(function (el) {
    var now = new Date();
    var zone = el.getAttribute("data-zone");
    if (!differs(zone, now)) return;
    var minutes = offset(now, mine) - offset(now, zone);
    var h = Math.floor(Math.abs(minutes) / 60), m = Math.abs(minutes) % 60;
    var amount = (h ? h + (h === 1 ? " hour" : " hours") : "") + (h && m ? " " : "") +
      (m ? m + " minutes" : "");
    el.textContent = " Your clock (" + mine.replace(/_/g, " ") + ") is " + amount +
      (minutes > 0 ? " ahead." : " behind.");
    el.hidden = false;
  });
})();
