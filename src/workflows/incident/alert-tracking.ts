/**
 * Alert tracking by fingerprint (Detection → "assess severity"; Resolution → "every alert resolved"):
 * pure bookkeeping on the incident state, unit-tested as is.
 */
import { isRepeat, type Alert, type Severity } from '../common';
import { higherSeverity, severityOfAlert, type IncidentState } from './contract';
import { addEvent } from './records';

export interface AlertChanges {
  /** Fingerprints that started firing or fired again. */
  fired: string[];
  resolved: string[];
  /** The highest severity among the batch's firing alerts. */
  severity?: Severity;
}

/**
 * Tracks each alert by fingerprint: a first firing, a resolution and a re-fire become timeline events;
 * repeats only count deliveries. A firing delivery of an episode already resolved (same startsAt: an HA
 * peer or a delayed resend) is stale and changes nothing.
 */
export function trackAlerts(s: IncidentState, alerts: Alert[], nowMs: number): AlertChanges {
  const changes: AlertChanges = { fired: [], resolved: [] };
  for (const a of alerts) {
    const by = `alert:${a.source}`;
    const severity = severityOfAlert(a, s.policy);
    const known = s.alerts[a.fingerprint];
    if (!known) {
      s.alerts[a.fingerprint] = {
        fingerprint: a.fingerprint,
        source: a.source,
        status: a.status,
        summary: a.summary,
        severity,
        firstFiringAt: a.startsAt,
        episodeStartsAt: a.startsAt,
        lastChangeAt: new Date(nowMs).toISOString(),
        refires: 0,
        deliveries: 1,
        ...(a.url ? { url: a.url } : {}),
      };
      addEvent(s, nowMs, by, 'alert', `${a.status === 'firing' ? 'Firing' : 'Resolved'} (${severity}): ${a.summary}`, {
        fingerprint: a.fingerprint,
        status: a.status,
        severity,
        labels: a.labels,
      });
      if (a.status === 'firing') changes.fired.push(a.fingerprint);
      else changes.resolved.push(a.fingerprint);
    } else {
      known.deliveries++;
      if (isRepeat(known, a)) continue;
      known.status = a.status;
      known.lastChangeAt = new Date(nowMs).toISOString();
      known.severity = severity;
      if (a.status === 'firing') {
        known.refires++;
        known.episodeStartsAt = a.startsAt;
        changes.fired.push(a.fingerprint);
        addEvent(s, nowMs, by, 'alert', `Fired again (${severity}): ${a.summary}`, {
          fingerprint: a.fingerprint,
          status: 'firing',
          severity,
        });
      } else {
        changes.resolved.push(a.fingerprint);
        addEvent(s, nowMs, by, 'alert', `Resolved: ${a.summary}`, { fingerprint: a.fingerprint, status: 'resolved' });
      }
    }
    if (a.status === 'firing') changes.severity = changes.severity ? higherSeverity(changes.severity, severity) : severity;
  }
  return changes;
}

export const trackedAlerts = (s: IncidentState) => Object.values(s.alerts);
export const firingAlerts = (s: IncidentState) => trackedAlerts(s).filter((a) => a.status === 'firing');
/** Every alert of the incident is resolved (an incident without alerts never resolves by itself). */
export const allAlertsResolved = (s: IncidentState) => trackedAlerts(s).length > 0 && firingAlerts(s).length === 0;
