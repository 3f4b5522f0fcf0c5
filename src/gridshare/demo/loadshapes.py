"""Synthetic consumption and solar output, vectorised with numpy over a whole history.

The weather is shared by every site (one Northern California valley climate: hot dry summers,
mild wet winters); each site draws its own appliance sizes and habits. Homes peak in the morning
and evening, run air conditioning on hot afternoons and heat on cold nights; businesses load up
during opening hours on weekdays; rooftop solar follows the sun's elevation (a clear-sky bell that
is tall and wide in summer, low and narrow in winter) dimmed by each day's clouds. Gas follows
water heating, cooking and space heating; water follows showers and summer irrigation.

Every function returns the quantity per interval (kWh, therms or gallons) as float arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gridshare.demo.timeline import Floats, Timeline

TAU = 2 * np.pi
LATITUDE = 38.55


@dataclass(frozen=True)
class Weather:
    """One value per local day: mean temperature anomaly (deg C) and cloudiness (0 clear..1)."""

    anomaly: Floats
    cloudiness: Floats
    day_of_year: Floats

    @classmethod
    def draw(cls, timeline: Timeline, rng: np.random.Generator) -> Weather:
        doy = timeline.day_of_year().astype(np.float64)
        shocks = rng.normal(0.0, 2.0, doy.size)
        anomaly = np.empty(doy.size)
        level = 0.0
        for i, shock in enumerate(shocks):  # AR(1): warm and cold spells last a few days
            level = 0.75 * level + shock
            anomaly[i] = level
        wet = 0.08 + 0.37 * (1 + np.cos(TAU * (doy - 15) / 365)) / 2
        cloudy = rng.random(doy.size) < wet
        cloudiness = np.where(cloudy, rng.uniform(0.3, 1.0, doy.size), 0.0)
        cloudiness = np.minimum(1.0, cloudiness + rng.uniform(0.0, 0.1, doy.size))
        return cls(anomaly, cloudiness, doy)

    def temperature(self, timeline: Timeline) -> Floats:
        """Air temperature (deg C) at each interval: season, daily anomaly and the diurnal swing."""
        season = np.cos(TAU * (self.day_of_year[timeline.day_index] - 200) / 365)
        swing = 7.0 + 3.0 * season
        return self.daily_mean(timeline) + swing * np.cos(TAU * (timeline.hours() - 15.5) / 24)

    def daily_mean(self, timeline: Timeline) -> Floats:
        """The day's mean temperature (deg C) at each interval (what heating degree days use)."""
        season = np.cos(TAU * (self.day_of_year[timeline.day_index] - 200) / 365)
        return np.asarray(15.75 + 8.25 * season + self.anomaly[timeline.day_index])


@dataclass(frozen=True)
class Household:
    """A home's habits and equipment."""

    base_kw: float
    morning_kw: float
    morning_hour: float
    evening_kw: float
    evening_hour: float
    cooling_kw_per_degree: float
    heating_kw_per_degree: float
    scale: float

    @classmethod
    def draw(cls, rng: np.random.Generator, *, size: float = 1.0, electric_heat: bool) -> Household:
        return cls(
            base_kw=rng.uniform(0.18, 0.42),
            morning_kw=rng.uniform(0.3, 1.0),
            morning_hour=rng.normal(7.2, 0.5),
            evening_kw=rng.uniform(0.7, 1.6),
            evening_hour=rng.normal(19.0, 0.6),
            cooling_kw_per_degree=rng.uniform(0.12, 0.32),
            heating_kw_per_degree=rng.uniform(0.08, 0.18) if electric_heat else 0.01,
            scale=size * rng.lognormal(0.0, 0.2),
        )


@dataclass(frozen=True)
class Business:
    """A small business's opening hours and equipment."""

    base_kw: float
    open_kw: float
    opens: float
    closes: float
    saturday: bool
    hvac_kw_per_degree: float

    @classmethod
    def draw(cls, rng: np.random.Generator, *, size: float = 1.0) -> Business:
        return cls(
            base_kw=size * rng.uniform(1.0, 3.0),
            open_kw=size * rng.uniform(6.0, 18.0),
            opens=float(rng.choice([6.0, 7.0, 8.0, 9.0])),
            closes=float(rng.choice([17.0, 18.0, 19.0, 21.0])),
            saturday=bool(rng.random() < 0.7),
            hvac_kw_per_degree=size * rng.uniform(0.4, 1.2),
        )


def home_electric(
    timeline: Timeline, weather: Weather, home: Household, rng: np.random.Generator
) -> Floats:
    hours = timeline.hours()
    weekend = timeline.weekdays() >= 5
    temperature = weather.temperature(timeline)
    morning_hour = np.where(weekend, home.morning_hour + 1.5, home.morning_hour)
    kw = (
        home.base_kw
        + home.morning_kw * _bump(hours, morning_hour, 1.0)
        + home.evening_kw * _bump(hours, home.evening_hour, 1.8)
        + np.where(weekend, 0.5 * _bump(hours, 13.0, 2.5), 0.0)
    )
    awake = 0.35 + 0.65 * _bump(hours, 17.5, 4.0)
    kw += home.cooling_kw_per_degree * np.clip(temperature - 24.0, 0, None) * awake
    kw += home.heating_kw_per_degree * np.clip(14.0 - temperature, 0, None)
    kw *= rng.lognormal(0.0, 0.3, kw.size)
    appliances = rng.random(kw.size) < 0.015
    kw += np.where(appliances, rng.uniform(0.5, 2.5, kw.size), 0.0)
    return np.asarray(home.scale * kw * timeline.interval / 3600)


def business_electric(
    timeline: Timeline, weather: Weather, shop: Business, rng: np.random.Generator
) -> Floats:
    hours = timeline.hours()
    weekday = timeline.weekdays()
    closes = np.where(weekday == 5, min(shop.closes, 15.0), shop.closes)
    open_day = (weekday < 5) | ((weekday == 5) & shop.saturday)
    ramp_up = _logistic(hours - shop.opens, 0.4)
    ramp_down = _logistic(closes - hours, 0.4)
    occupied = np.where(open_day, ramp_up * ramp_down, 0.0)
    temperature = weather.temperature(timeline)
    hvac = shop.hvac_kw_per_degree * (
        np.clip(temperature - 22.0, 0, None) + 0.6 * np.clip(16.0 - temperature, 0, None)
    )
    kw = shop.base_kw + occupied * (shop.open_kw + hvac)
    kw *= rng.lognormal(0.0, 0.12, kw.size)
    return np.asarray(kw * timeline.interval / 3600)


def solar_output(
    timeline: Timeline,
    weather: Weather,
    capacity_kw: float,
    longitude: float,
    rng: np.random.Generator,
) -> Floats:
    """Energy a rooftop array sends (kWh per interval, >= 0): sun elevation times clearness."""
    middle = timeline.utc + timeline.interval / 2
    doy = weather.day_of_year[timeline.day_index]
    declination = np.radians(23.44) * np.sin(TAU * (284 + doy) / 365)
    solar_hours = (middle % 86400) / 3600 + longitude / 15
    hour_angle = np.radians(15.0 * (solar_hours - 12.0))
    latitude = np.radians(LATITUDE)
    sin_elevation = np.sin(latitude) * np.sin(declination) + np.cos(latitude) * np.cos(
        declination
    ) * np.cos(hour_angle)
    clear_sky = np.clip(sin_elevation, 0, None) ** 1.15
    clouds = weather.cloudiness[timeline.day_index]
    passing = np.abs(rng.normal(0.0, 0.35, clear_sky.size))
    clearness = np.clip(1.0 - 0.8 * clouds - 0.25 * clouds * passing, 0.05, 1.0)
    kw = capacity_kw * 0.82 * clear_sky * clearness
    return np.asarray(kw * timeline.interval / 3600)


def home_gas(
    timeline: Timeline, weather: Weather, home: Household, rng: np.random.Generator
) -> Floats:
    """Therms per interval: water heating, cooking and a thermostat-scheduled furnace."""
    hours = timeline.hours()
    water_heating = 0.008 + 0.07 * _bump(hours, home.morning_hour, 1.0)
    water_heating += 0.05 * _bump(hours, home.evening_hour + 1.0, 1.5)
    cooking = 0.04 * _bump(hours, 18.0, 1.0)
    thermostat = 0.45 + 0.55 * np.maximum(_bump(hours, 7.0, 1.5), _bump(hours, 19.5, 2.5))
    degrees = np.clip(15.5 - weather.daily_mean(timeline), 0, None)
    heating = 0.012 * home.scale * thermostat * degrees
    therms = (water_heating + cooking) * home.scale + heating
    therms *= rng.lognormal(0.0, 0.25, therms.size)
    return np.asarray(therms * timeline.interval / 3600)


def business_gas(
    timeline: Timeline, weather: Weather, shop: Business, rng: np.random.Generator
) -> Floats:
    """Therms per interval for a kitchen: cooking while open plus space heating."""
    hours = timeline.hours()
    weekday = timeline.weekdays()
    open_day = (weekday < 5) | ((weekday == 5) & shop.saturday)
    occupied = np.where(open_day, _logistic(hours - shop.opens, 0.5), 0.0)
    occupied *= _logistic(shop.closes - hours, 0.5)
    temperature = weather.temperature(timeline)
    therms = 0.05 + occupied * (0.55 + 0.03 * np.clip(16.0 - temperature, 0, None))
    therms *= rng.lognormal(0.0, 0.2, therms.size)
    return np.asarray(therms * timeline.interval / 3600)


def home_water(
    timeline: Timeline, weather: Weather, home: Household, rng: np.random.Generator
) -> Floats:
    """Gallons per interval: showers, dishes and laundry, and summer dawn irrigation."""
    hours = timeline.hours()
    gallons_per_hour = 2.0 + 38.0 * _bump(hours, home.morning_hour, 0.8)
    gallons_per_hour += 20.0 * _bump(hours, home.evening_hour, 1.5)
    months = timeline.local.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    dry_season = np.isin(months % 12 + 1, (5, 6, 7, 8, 9, 10))
    dry = weather.cloudiness[timeline.day_index] < 0.3
    heat = np.clip(weather.anomaly[timeline.day_index] / 6.0 + 1.0, 0.5, 1.5)
    irrigation = np.where(dry_season & dry, 140.0 * heat * _bump(hours, 5.5, 0.4), 0.0)
    gallons = (gallons_per_hour * home.scale + irrigation) * rng.lognormal(0.0, 0.35, hours.size)
    return np.asarray(gallons * timeline.interval / 3600)


def _bump(hours: Floats, centre: Floats | float, width: float) -> Floats:
    """A daily Gaussian bump at `centre` o'clock, wrapping around midnight."""
    distance = (hours - centre + 12.0) % 24.0 - 12.0
    return np.asarray(np.exp(-0.5 * (distance / width) ** 2))


def _logistic(x: Floats, width: float) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-x / width)))
