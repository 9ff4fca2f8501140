#!/usr/bin/env python3
"""Print the Gregorian dates of China's lunar and solar-term public holidays for a year.

Used to fill in provisional years of config/calendar.toml before the State Council
publishes the official arrangement (国务院办公厅关于部分节假日安排的通知, each November).

    pip install lunardate ephem
    python3 scripts/lunar_holidays.py 2027 [2028 ...]

How each date is derived:
- 春节 (Spring Festival) = lunar 1/1 of the year, converted with `lunardate`;
  除夕 (New Year's Eve) = the Gregorian day before 春节 (the last day of lunar month 12,
  whether that month has 29 or 30 days).
- 清明 (Qingming) = the China Standard Time (UTC+8) date on which the Sun's apparent
  geocentric ecliptic longitude reaches 15 degrees (the solar term 清明), computed with `ephem`
  (bisection to about one second), not a lunar date.
- 端午 (Dragon Boat) = lunar 5/5; 中秋 (Mid-Autumn) = lunar 8/15, converted with `lunardate`.

The official holidays are usually longer (bridged with weekends and make-up working days):
these are only the statutory days themselves.
"""

import datetime as dt
import sys

try:
    import ephem
    from lunardate import LunarDate
except ImportError:  # pragma: no cover - a helpful message for the operator
    sys.exit("needs: pip install lunardate ephem")

CST = dt.timezone(dt.timedelta(hours=8))


def lunar(year: int, month: int, day: int) -> dt.date:
    """Gregorian date of lunar `month`/`day` (non-leap month) in lunar `year`."""
    ld = LunarDate(year, month, day)
    return ld.to_solar_date() if hasattr(ld, "to_solar_date") else ld.toSolarDate()


def sun_longitude_deg(when_utc: dt.datetime) -> float:
    """Apparent geocentric ecliptic longitude of the Sun, degrees in [0, 360)."""
    d = ephem.Date(when_utc.replace(tzinfo=None))
    sun = ephem.Sun(d)
    ecl = ephem.Ecliptic(ephem.Equatorial(sun.ra, sun.dec, epoch=d), epoch=d)
    return float(ecl.lon) * 180.0 / ephem.pi % 360.0


def solar_term_date(year: int, longitude_deg: float, search_from: dt.date) -> dt.date:
    """CST date on which the Sun reaches `longitude_deg`, searching 20 days from `search_from`."""
    lo = dt.datetime(search_from.year, search_from.month, search_from.day, tzinfo=dt.timezone.utc)
    hi = lo + dt.timedelta(days=20)

    def before(t: dt.datetime) -> bool:
        # Signed angular distance to the target, in (-180, 180].
        diff = (sun_longitude_deg(t) - longitude_deg + 180.0) % 360.0 - 180.0
        return diff < 0

    if not before(lo) or before(hi):
        raise ValueError(f"solar longitude {longitude_deg} not reached in window for {year}")
    while (hi - lo).total_seconds() > 1:
        mid = lo + (hi - lo) / 2
        if before(mid):
            lo = mid
        else:
            hi = mid
    return hi.astimezone(CST).date()


def holidays(year: int) -> dict:
    spring = lunar(year, 1, 1)
    return {
        "chuxi": spring - dt.timedelta(days=1),
        "chunjie": spring,
        "qingming": solar_term_date(year, 15.0, dt.date(year, 3, 28)),
        "duanwu": lunar(year, 5, 5),
        "zhongqiu": lunar(year, 8, 15),
    }


NAMES = {
    "chuxi": "除夕 (lunar 12/last)",
    "chunjie": "春节 (lunar 1/1)",
    "qingming": "清明 (solar term, sun at 15 deg, CST date)",
    "duanwu": "端午 (lunar 5/5)",
    "zhongqiu": "中秋 (lunar 8/15)",
}


def main(argv: list) -> int:
    years = [int(a) for a in argv[1:]] or [dt.date.today().year + 1]
    for year in years:
        print(f"# {year}")
        for key, date in holidays(year).items():
            print(f"{key:9} {date.isoformat()} {date.strftime('%a')}  {NAMES[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
